"""The console's pages, one module per area: the presentation layer above every domain."""
