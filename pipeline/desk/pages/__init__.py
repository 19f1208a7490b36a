"""One module per desk page; each exports ROUTES."""
