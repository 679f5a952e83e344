//! Infisical operator manifests from the desired state. PURE.
