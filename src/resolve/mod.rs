//! `SecretResolver` implementations: literals, generated values, Bitwarden.
