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

extension GaussianMixture {
    /// One draw from component `c` alone, `x ~ 𝒩(μ_c, Σ_c)` (the emission of an HMM state).
    /// - Complexity: `O(D²)` for full and tied covariances, `O(D)` otherwise.
    func draw(component c: Int, using generator: inout Xoshiro256StarStar) -> [Double] {
        let d = dimension
        let z = (0..<d).map { _ in generator.nextNormal() }
        switch covariances {
        case .full, .tied:
            let l = choleskyFactors[covarianceType == .tied ? 0 : c].lower
            return (0..<d).map { a in means[c, a] + (0...a).reduce(0) { $0 + l[a, $1] * z[$1] } }
        case .diag(let v):
            return (0..<d).map { a in means[c, a] + v[c, a].squareRoot() * z[a] }
        case .spherical(let v):
            return (0..<d).map { a in means[c, a] + v[c].squareRoot() * z[a] }
        }
    }
}
