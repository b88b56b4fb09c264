//! The three versions a rotation works with, by their staging labels.

/// A version of the rotated secret, by its staging label: what a rotator
/// reads with [`RotationContext::secret`](crate::RotationContext::secret),
/// and what an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionLabel {
    /// The version staged AWSCURRENT.
    Current,
    /// The version being rotated in (the event's token).
    Pending,
    /// The version staged AWSPREVIOUS.
    Previous,
}

impl std::fmt::Display for VersionLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Current => "AWSCURRENT",
            Self::Pending => "AWSPENDING",
            Self::Previous => "AWSPREVIOUS",
        })
    }
}
