"""The forum: topics by komisi, threads residents open and members and staff answer."""
