// SPDX-License-Identifier: GPL-2.0-or-later

/// The release this build calls itself.
public enum SIPWardenVersion {
    public static let string = "0.1.0"
}
