"""Storage: the catalog and its BM25 table (SQLite), the vector store (Chroma), and the Index over both."""
