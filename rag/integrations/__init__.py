"""Adapters that let other frameworks use rag's components as their own."""
