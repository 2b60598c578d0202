//! Judging listings against the protected products. Pure: no I/O, no clock.
//!
//! [`image`] fingerprints photos; [`references`] finds and verifies the
//! reference prints near a listing print; [`text`] finds the brand and
//! product names in listing text, however they are spelled; [`signals`]
//! reads price, vocabulary, condition and seller; [`score`] turns all of it
//! into one score per (listing, product) with its reasons in words; and
//! [`policy`]'s rules decide which of them enter the review queue; both
//! fill the types of [`verdict`].
//! [`contacts`] reads the contact details a listing gives away, which link
//! the accounts of one operator.

pub mod contacts;
pub mod features;
pub mod image;
pub mod policy;
pub mod references;
pub mod relisting;
pub mod score;
pub mod signals;
pub mod text;
pub mod verdict;
