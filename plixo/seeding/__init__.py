"""Seed data: an organization with a login per role (`members`), synthetic ledgers at benchmark
scale (`bulk`) and the hand-made demo organizations (`demo`).

This app sits above every domain app and writes through their services; nothing below it
imports it. The package itself imports no models, so Django can load it as an app."""
