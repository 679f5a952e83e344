//! Generated values: uniform over the rule's alphabet, from the operating system's CSPRNG
//! (through `rand`'s thread generator, which reseeds from it).

use rand::RngExt;

use crate::model::document::Charset;
use crate::model::{GenerateRule, SecretValue};

/// The alphabet of a charset.
pub(crate) fn alphabet(charset: Charset) -> &'static [u8] {
    match charset {
        Charset::Alphanumeric => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        Charset::Hex => b"0123456789abcdef",
        Charset::Base64 => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        Charset::Base64url => {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        }
        Charset::Symbols => {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&()*+,-./:;<=>?@[]^_{|}~"
        }
    }
}

/// A fresh value for `rule`.
pub(crate) fn generate_value(rule: &GenerateRule) -> SecretValue {
    let alphabet = alphabet(rule.charset);
    let mut rng = rand::rng();
    let value: String = (0..rule.length)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect();
    SecretValue::new(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_follow_the_rule() {
        for charset in [
            Charset::Alphanumeric,
            Charset::Hex,
            Charset::Base64,
            Charset::Base64url,
            Charset::Symbols,
        ] {
            let rule = GenerateRule {
                length: 40,
                charset,
                backup_to: None,
            };
            let value = generate_value(&rule);
            assert_eq!(value.expose().chars().count(), 40);
            assert!(
                value
                    .expose()
                    .bytes()
                    .all(|b| alphabet(charset).contains(&b))
            );
            // Survives Infisical's trimming unchanged: no whitespace in any alphabet.
            assert_eq!(value.normalized(), value.expose());
            assert_ne!(generate_value(&rule), value);
        }
    }
}
