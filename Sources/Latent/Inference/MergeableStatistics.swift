import Foundation

/// Sufficient statistics that add up: an E-step's (or a data set's) sums over rows, made by one
/// model on one part of the data, merged with those of other parts into those of the whole.
/// Streamed fits, `latent merge` and the Spark driver rely on it; ``MixtureStatistics``,
/// ``HMMStatistics``, ``LinearGaussianStatistics`` and ``LinearGaussianPatternStatistics`` adopt it.
public protocol MergeableStatistics: Sendable, Codable, Equatable {
    /// Adds `other`'s rows. - Throws: ``ModelError/invalidSetting(_:)`` when `other` comes from
    /// another model, shape or version.
    mutating func merge(_ other: Self) throws
}

extension MergeableStatistics {
    /// The sum of several statistics (in the order given). - Throws: as ``merge(_:)``; also when
    /// the list is empty.
    public static func merged(_ parts: [Self]) throws -> Self {
        guard var total = parts.first else { throw ModelError.invalidSetting("no statistics to merge") }
        for part in parts.dropFirst() { try total.merge(part) }
        return total
    }

    /// The statistics `parts` hands to the function it is given, one part at a time, merged as they
    /// come (nil when it hands none): a streamed E-step over blocks of rows.
    static func accumulated(over parts: ((Self) throws -> Void) throws -> Void) throws -> Self? {
        var total: Self?
        try parts { part in
            if total == nil { total = part } else { try total!.merge(part) }
        }
        return total
    }
}
