"""Public input on a Raperda (draft regional regulation), pasal by pasal."""
