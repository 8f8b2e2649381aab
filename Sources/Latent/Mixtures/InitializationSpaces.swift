import Foundation

/// The coordinates in which a mixture's starts measure distances between rows: seeds are drawn and
/// rows assigned to their nearest seed there. Built once per search (two copies of the data).
///
/// Half the starts use **standardised** columns (centred, unit variance), so that no column
/// dominates by its units. The other half use **sphered** coordinates: the standardised data
/// rotated onto its principal axes and scaled to unit variance on each, so that a direction of
/// small spread that separates clusters (the species of the crabs data, say) weighs as much as the
/// direction of largest spread. On the 280 mixture entries of the reference suite with seeds 0–2,
/// the default search reached the anchor's best in 80.0% of fits with standardised columns alone
/// and in 82.6–84.0% with both spaces (two draws of which start uses which); with seed 0 alone,
/// sphered coordinates alone gave 81.8%.
struct InitializationSpaces: Sendable {
    let standardized: Matrix<Double>
    let sphered: Matrix<Double>

    /// - Complexity: `O(N·D²)` for the covariance and the rotation, plus one `D × D` eigendecomposition.
    init(_ data: MixtureTrainingData) {
        standardized = Self.standardize(data)
        sphered = Self.sphere(standardized)
    }

    /// The data's columns centred and scaled to unit variance (a constant column only centred).
    /// - Complexity: `O(N·D)`.
    static func standardize(_ data: MixtureTrainingData) -> Matrix<Double> {
        let x = data.initializationData
        let inverseSD = data.columnVariances.map { $0 > 0 ? 1 / $0.squareRoot() : 1 }
        var standardized = x
        standardized.withUnsafeMutableBufferPointer { p in
            let d = x.columns
            for i in 0..<x.rows { for j in 0..<d { p[i * d + j] = (p[i * d + j] - data.shift[j]) * inverseSD[j] } }
        }
        return standardized
    }

    /// One of the two spaces, each with probability ½.
    func draw(using rng: inout Xoshiro256StarStar) -> Matrix<Double> {
        rng.nextUniform() < 0.5 ? standardized : sphered
    }

    /// Centred data `s` rotated onto its principal axes and scaled to unit variance on each; axes
    /// whose variance is below 1e-10 of the largest are dropped. `s` itself if the
    /// eigendecomposition fails.
    static func sphere(_ s: Matrix<Double>) -> Matrix<Double> {
        var covariance = s.gram
        let scale = 1 / Double(max(1, s.rows - 1))
        for i in 0..<covariance.rows { for j in 0..<covariance.columns { covariance[i, j] *= scale } }
        guard let eigen = try? SymmetricEigen(covariance), let top = eigen.values.last, top > 0 else { return s }
        let kept = eigen.values.indices.filter { eigen.values[$0] > 1e-10 * top }
        var projection = Matrix<Double>(rows: s.columns, columns: kept.count)
        for (a, j) in kept.enumerated() {
            let f = 1 / eigen.values[j].squareRoot()
            for i in 0..<s.columns { projection[i, a] = eigen.vectors[i, j] * f }
        }
        return s.multiplied(by: projection)
    }
}
