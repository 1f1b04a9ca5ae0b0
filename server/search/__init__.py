"""Archive search: Sastrawi stemming (`stemming`), two full-text backends (`service`), `views`."""
