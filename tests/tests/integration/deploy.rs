//! The deployment files in examples/deploy, run as the README says.
