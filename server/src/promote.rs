//! Promotion: publishing a CI release payload under its release name, the way
//! `oc adm release new --from-release … --mirror … --to-image …` does. [`copy`] copies
//! component images by digest into the content repository (mounting within a registry,
//! streaming between registries, every shared blob once), [`rebuild`] writes the new payload
//! image whose `image-references` point at the copies and whose `release-metadata` carries
//! the release name and upgrade sources, and [`signature`] fetches and checks the OpenShift
//! release signatures of a payload digest.

pub mod copy;
pub mod rebuild;
pub mod signature;
