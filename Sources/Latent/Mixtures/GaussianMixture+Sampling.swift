extension GaussianMixture {
    /// Draws `count` points: a component `z ~ Categorical(w)`, then `x ~ 𝒩(μ_z, Σ_z)`.
    ///
    /// - Returns: the points (`count × D`) and the component each came from.
    public func sample(count: Int, using generator: inout Xoshiro256StarStar) -> (points: Matrix<Double>, components: [Int]) {
        precondition(count >= 0, "count must be non-negative")
        let d = dimension
        var points = Matrix<Double>(rows: count, columns: d)
        var components = [Int](repeating: 0, count: count)
        var z = [Double](repeating: 0, count: d)
        let factors: [Matrix<Double>]
        switch covariances {
        case .full, .tied: factors = choleskyFactors.map(\.lower)
        case .diag(let v): factors = (0..<componentCount).map { k in .diagonal(v.row(k).map { $0.squareRoot() }) }
        case .spherical(let v): factors = v.map { .diagonal([Double](repeating: $0.squareRoot(), count: d)) }
        }
        for i in 0..<count {
            let c = generator.nextCategorical(weights)
            components[i] = c
            for j in 0..<d { z[j] = generator.nextNormal() }
            let l = factors[covarianceType == .tied ? 0 : c]
            for a in 0..<d {
                var s = means[c, a]
                for b in 0...a { s += l[a, b] * z[b] }
                points[i, a] = s
            }
        }
        return (points, components)
    }
}
