//! Sources of the desired state: YAML files in a directory (Git sources build on it).
