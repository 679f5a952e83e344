//! Ids the Infisical server gives its objects (UUIDs), one type each, so that a project id
//! cannot be passed where an environment id is expected.
//!
//! Ids are opaque: they are not checked, only carried from an answer to the next request.
//! They serialize as the plain string (`#[serde(transparent)]`).

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as the server gave it.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as the server spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as a `String`.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_string())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

id_newtype!(
    /// A project's id.
    ProjectId
);
id_newtype!(
    /// An environment's id (environments are addressed by slug in most routes, by id in the
    /// environment routes).
    EnvironmentId
);
id_newtype!(
    /// A folder's id.
    FolderId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialize_as_the_plain_string() {
        let id = ProjectId::new("0f1e");
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""0f1e""#);
        assert_eq!(
            serde_json::from_str::<FolderId>(r#""ab""#).unwrap(),
            FolderId::new("ab")
        );
        assert_eq!(EnvironmentId::new("e").to_string(), "e");
        assert_eq!(id.as_str(), "0f1e");
    }
}
