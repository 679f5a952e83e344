//! The Infisical API port (`InfisicalApi`), its reqwest client, and observe → `LiveState`.
