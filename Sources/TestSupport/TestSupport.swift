// SPDX-License-Identifier: GPL-2.0-or-later

// What the test targets share (not shipped in the product): the seeded generator every
// randomized test uses, so that a failure reproduces from the seed it prints. (Kernel
// tests' namespace gate is `TestNamespaces`.)

/// The one seeded generator (`WardenCore.SplitMix64`, which inline admission uses too):
/// `var rng = SplitMix64(seed: 42)`.
@_exported public import struct WardenCore.SplitMix64
