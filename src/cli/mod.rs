//! Command-line front-end: clap types, settings, one file per subcommand.
