"""The knowledge base: articles, their review, search and use on incidents."""
