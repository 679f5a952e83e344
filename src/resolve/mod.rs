//! `SecretResolver` implementations: literals, generated values, Bitwarden.

pub mod bitwarden;
