import Foundation
import Latent

/// The anchors' best-known optima on real data (`Data/reference/anchors.json`, written by
/// `bench/reference/anchors.py`).
public struct ReferenceSuite: Decodable, Sendable {
    public struct Entry: Decodable, Sendable, CustomStringConvertible {
        public let family: String
        /// Path below `Data/`.
        public let data: String
        public let columns: [String]
        public let n: Int
        // Mixtures
        public let components: Int?
        public let covariance: String?
        // Hidden Markov models
        public let emission: String?
        public let states: Int?
        /// Gaussian-mixture HMMs: components per state.
        public let componentsPerState: Int?
        public let bestLogLikelihood: Double?
        // Mixtures and factor analysis (per row)
        public let bestMeanLogLikelihood: Double?
        /// Mixtures: the best eligible mean log-likelihood of 60 starts with scikit-learn's default
        /// (k-means) start, what a scikit-learn user gets from the best of 60 restarts.
        public let kmeansBestMeanLogLikelihood: Double?
        // Factor analysis
        public let factors: Int?

        public var description: String {
            var s = "\(family) \(data)"
            if let components { s += " K=\(components)" }
            if let states { s += " K=\(states)" }
            if let componentsPerState { s += " M=\(componentsPerState)" }
            if let factors { s += " factors=\(factors)" }
            if let emission { s += " \(emission)" }
            if let covariance { s += " \(covariance)" }
            return s
        }

        /// The entry's data, its columns in the file's order.
        public func load() throws -> Matrix<Double> {
            try TestData.csv(data, columns: columns).values
        }
    }

    public let entries: [Entry]

    /// The suite from the repository.
    public static func load() throws -> ReferenceSuite {
        let url = TestData.dataDirectory.appendingPathComponent("reference/anchors.json")
        return try JSONDecoder().decode(ReferenceSuite.self, from: Data(contentsOf: url))
    }

    /// Entries of one family that have an eligible anchor optimum.
    public func entries(_ family: String) -> [Entry] {
        entries.filter { $0.family == family && ($0.bestLogLikelihood ?? $0.bestMeanLogLikelihood) != nil }
    }

    /// Seeds per entry for the hit-rate tests: `LATENT_REFERENCE_SEEDS` (default 1).
    public static var seedsPerEntry: Int {
        ProcessInfo.processInfo.environment["LATENT_REFERENCE_SEEDS"].flatMap(Int.init) ?? 1
    }
}
