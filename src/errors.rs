//! Rendering errors for people: one formatter for an error and its causes.

use std::error::Error;

/// An error and its causes on one line, `: `-joined: `outer: inner: root`.
///
/// The text is as the errors write it; where it lands on a terminal or in a log line and may
/// hold foreign text, escape it there (e.g. with [`crate::escape::visible`]).
pub fn cause_chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Layer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1
                .as_deref()
                .map(|inner| inner as &(dyn Error + 'static))
        }
    }

    #[test]
    fn joins_an_error_and_its_causes_outermost_first() {
        let error = Layer(
            "outer",
            Some(Box::new(Layer(
                "inner",
                Some(Box::new(Layer("root", None))),
            ))),
        );
        assert_eq!(cause_chain(&error), "outer: inner: root");
        assert_eq!(cause_chain(&Layer("alone", None)), "alone");
    }
}
