//! local-infra
