"""Pengaduan: residents report a problem and follow it to resolution (issue 15)."""
