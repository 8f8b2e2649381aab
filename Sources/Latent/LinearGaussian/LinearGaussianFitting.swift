import Foundation

/// Settings for fitting factor analysis and probabilistic PCA.
public struct LinearGaussianFitOptions: Sendable {
    /// Stopping rules for EM (tolerance on the mean log-likelihood per row).
    public var em: EMOptions
    /// Lower bound on noise variances, relative to the data's scale: factor analysis is fitted on
    /// columns scaled to unit variance, probabilistic PCA multiplies it by the mean column variance.
    /// scikit-learn uses 1e-12 in absolute units; a constant column drives its variance here (and
    /// Latent warns).
    public var noiseFloor: Double
    /// Rotate the fitted loadings (factor analysis only; the likelihood is unchanged).
    public var rotation: FactorRotation
    /// If set, EM continues from this model (no start search; its factor count and noise kind
    /// must be the fit's), as ``MixtureFitOptions/warmStart`` does for mixtures.
    public var warmStart: LinearGaussianModel?
    /// Receives progress events (each EM start is one `start`; means per row in the data's units).
    public var progress: (@Sendable (FitEvent) -> Void)?

    /// Every setting, each defaulting to the value documented on its property.
    public init(em: EMOptions = EMOptions(maxIterations: 10_000, tolerance: 1e-7),
                noiseFloor: Double = 1e-12,
                rotation: FactorRotation = .none,
                warmStart: LinearGaussianModel? = nil,
                progress: (@Sendable (FitEvent) -> Void)? = nil) {
        self.em = em
        self.noiseFloor = noiseFloor
        self.rotation = rotation
        self.warmStart = warmStart
        self.progress = progress
    }
}

/// A rotation of factor-analysis loadings.
public enum FactorRotation: String, CaseIterable, Codable, Sendable {
    case none
    /// Kaiser's varimax: maximises the variance of the squared loadings within each factor.
    case varimax
}

/// Factor analysis: `x = μ + W z + ε` with `k` factors and diagonal noise, fitted by EM through the
/// shared driver, with missing values integrated out exactly.
public enum FactorAnalysis {
    /// Fits `factors` factors to the rows of `x` (NaN = missing).
    ///
    /// EM starts from the probabilistic-PCA solution of the mean-imputed covariance and works on
    /// per-pattern sufficient statistics, so each iteration costs `O(patterns · D²k)` however many
    /// rows there are.
    /// - Throws: ``ModelError`` for empty data, rows with nothing observed, too many factors.
    public static func fit(_ x: Matrix<Double>, factors: Int, options: LinearGaussianFitOptions = LinearGaussianFitOptions())
        throws -> (model: LinearGaussianModel, report: FitReport)
    {
        try LinearGaussianFitting.fit(x, factors: factors, noise: .diagonal, options: options)
    }
}

/// Probabilistic PCA (Tipping & Bishop 1999): `x = μ + W z + ε` with isotropic noise `σ² I`.
public enum ProbabilisticPCA {
    /// The closed-form maximum-likelihood fit from the eigen-decomposition of the sample covariance
    /// (LAPACK `dsyevd`): `W = U_k (Λ_k − σ² I)^{1/2}`, `σ²` the mean of the discarded eigenvalues.
    /// - Precondition: no missing values (use ``fit(_:components:options:)``, which switches to EM).
    public static func closedForm(_ x: Matrix<Double>, components: Int) throws -> LinearGaussianModel {
        precondition(x.missingCount == 0, "The closed form needs complete data")
        let data = LinearGaussianTrainingData(x, noiseFloor: 0)
        return try LinearGaussianFitting.principalSubspace(data, factors: components, floor: 1e-300)
    }

    /// Fits probabilistic PCA: the closed form for complete data, EM over the observed values when
    /// some are missing.
    public static func fit(_ x: Matrix<Double>, components: Int, options: LinearGaussianFitOptions = LinearGaussianFitOptions())
        throws -> (model: LinearGaussianModel, report: FitReport)
    {
        try LinearGaussianFitting.fit(x, factors: components, noise: .isotropic, options: options)
    }
}

extension LinearGaussianModel {
    /// Continues EM from this model (a warm start) on `x` (NaN = missing).
    public func refined(on x: Matrix<Double>, options: LinearGaussianFitOptions = LinearGaussianFitOptions())
        throws -> (model: LinearGaussianModel, report: FitReport)
    {
        precondition(x.columns == dimension, "Data has \(x.columns) columns, the model \(dimension)")
        let data = LinearGaussianTrainingData(x, noiseFloor: options.noiseFloor)
        var model = self
        let trace = try ExpectationMaximization.run(&model, on: data, count: x.rows, options: options.em) { i, mean in
            options.progress?(.iteration(start: 0, iteration: i, meanLogLikelihood: mean))
        }
        return (model, FitReport(trace: trace, startLogLikelihoods: [trace.logLikelihood], count: x.rows))
    }
}

enum LinearGaussianFitting {
    static func fit(_ x: Matrix<Double>, factors: Int, noise: LinearGaussianNoise, options: LinearGaussianFitOptions)
        throws -> (model: LinearGaussianModel, report: FitReport)
    {
        guard x.rows > 0, x.columns > 0 else { throw ModelError.emptyData }
        guard factors >= 1, factors < x.columns || (noise == .diagonal && factors <= x.columns) else {
            throw ModelError.invalidSetting("the number of factors must be between 1 and \(x.columns - 1) for \(x.columns) columns")
        }
        if let i = x.elements.firstIndex(where: { $0.isInfinite }) {
            throw ModelError.invalidSetting("row \(i / x.columns + 1), column \(i % x.columns + 1) is infinite")
        }
        let empty = (0..<x.rows).filter { i in (0..<x.columns).allSatisfy { x[i, $0].isNaN } }
        if !empty.isEmpty {
            throw ModelError.invalidSetting("row(s) \(empty.prefix(10).map { String($0 + 1) }.joined(separator: ", ")) have every value missing; drop them")
        }
        guard x.rows >= 2 else { throw ModelError.tooFewPoints(points: x.rows, needed: 2, what: "a linear-Gaussian model") }
        if let warm = options.warmStart {
            guard warm.dimension == x.columns, warm.factorCount == factors, warm.noise == noise else {
                throw ModelError.invalidSetting("the starting model has \(warm.factorCount) factors over \(warm.dimension) columns; the fit asks for \(factors) over \(x.columns)")
            }
            return try warm.refined(on: x, options: options)
        }
        // Factor analysis is equivariant under a rescaling of the columns, so it is fitted to
        // columns scaled to unit variance and mapped back: EM and its PCA start are then equally
        // well conditioned in every column, whatever the units (probabilistic PCA is not
        // equivariant and is fitted as it is).
        let scales = noise == .diagonal ? unitVarianceScales(x) : [Double](repeating: 1, count: x.columns)
        // The floor is relative: factor analysis works at unit variance; probabilistic PCA scales
        // it by the mean column variance, so that c·x gives the same fit as x.
        let floorScale = noise == .diagonal ? 1 : unitVarianceScales(x).map { 1 / ($0 * $0) }.reduce(0, +) / Double(x.columns)
        var options = options
        options.noiseFloor *= floorScale
        let data = LinearGaussianTrainingData(scaled(x, by: scales), noiseFloor: options.noiseFloor)
        // Likelihoods of the scaled data map back to the data's units by the log-Jacobian.
        let logJacobian = (0..<x.columns).reduce(0.0) { total, j in
            let observedInColumn = (0..<x.rows).reduce(0) { $0 + (x[$1, j].isNaN ? 0 : 1) }
            return total + Double(observedInColumn) * log(scales[j])
        }
        return try fit(data, factors: factors, noise: noise, options: options, scales: scales, logJacobian: logJacobian,
                       complete: x.missingCount == 0)
    }

    /// The fit of prepared data (`data` in coordinates scaled by `scales`, `options.noiseFloor`
    /// already in those units), mapped back to the data's units.
    static func fit(_ data: LinearGaussianTrainingData, factors: Int, noise: LinearGaussianNoise, options: LinearGaussianFitOptions,
                    scales: [Double], logJacobian: Double, complete: Bool) throws -> (model: LinearGaussianModel, report: FitReport) {
        var search = StartSearch(data: data, options: options, meanOffset: logJacobian / Double(data.count))
        var model = try principalSubspace(data, factors: factors, floor: options.noiseFloor)
        var trace: EMTrace
        if noise == .isotropic && complete {
            // The closed form is the maximum.
            let ll = try model.totalLogLikelihood(of: data)
            trace = EMTrace(history: [ll], iterations: 0, converged: true, stoppedOnDecrease: false)
            search.finals.append(ll)
        } else if noise == .isotropic {
            (model, trace) = try search.bestOf([model])
        } else {
            (model, trace) = try search.fitFactorAnalysis(principal: model, factors: factors)
        }
        model = model.rescaled(by: scales.map { 1 / $0 })
        trace.history = trace.history.map { $0 + logJacobian }
        if options.rotation == .varimax && noise == .diagonal {
            model = model.rotated(by: Varimax.rotation(for: model.loadings))
        }
        var warnings: [String] = []
        let covariance = data.meanImputedCovariance
        for j in 0..<data.dimension {
            if covariance[j, j] <= 0 {
                warnings.append("column \(j + 1) is constant: its noise variance sits at the floor (\(formatted(options.noiseFloor))), which alone sets its share of the likelihood; drop the column to compare likelihoods")
            } else if noise == .diagonal && model.noiseVariances[j] * scales[j] * scales[j] <= max(options.noiseFloor * 10, 1e-9 * covariance[j, j]) {
                warnings.append("column \(j + 1) is explained perfectly by the factors (a Heywood case: noise variance at the floor); use fewer factors or drop the column")
            }
        }
        return (model, FitReport(trace: trace, startLogLikelihoods: search.finals.map { $0 + logJacobian }, count: data.count,
                                 warnings: warnings, totalIterations: search.spent))
    }

    /// `1 / sd` of each column's observed values (1 for a constant column).
    static func unitVarianceScales(_ x: Matrix<Double>) -> [Double] {
        (0..<x.columns).map { j in
            var n = 0.0, sum = 0.0, sumSquares = 0.0
            for i in 0..<x.rows where !x[i, j].isNaN { n += 1; sum += x[i, j] }
            guard n > 1 else { return 1 }
            let mean = sum / n
            for i in 0..<x.rows where !x[i, j].isNaN { sumSquares += (x[i, j] - mean) * (x[i, j] - mean) }
            let sd = (sumSquares / n).squareRoot()
            return sd > 0 && sd.isFinite ? 1 / sd : 1
        }
    }

    /// `x` with column `j` multiplied by `scales[j]` (missing values stay missing).
    static func scaled(_ x: Matrix<Double>, by scales: [Double]) -> Matrix<Double> {
        if scales.allSatisfy({ $0 == 1 }) { return x }
        var out = x
        for i in 0..<x.rows { for j in 0..<x.columns { out[i, j] *= scales[j] } }
        return out
    }

    /// The Heywood start of ``StartSearch/fitFactorAnalysis(principal:factors:)`` for column `j` of covariance `c`.
    static func heywoodStart(covariance c: Matrix<Double>, column j: Int, factors k: Int, mean: [Double], floor: Double) throws -> LinearGaussianModel {
        let d = c.rows
        let first = (0..<d).map { c[$0, j] / c[j, j].squareRoot() }
        var rest = c
        for a in 0..<d { for b in 0..<d { rest[a, b] -= first[a] * first[b] } }
        var w = Matrix<Double>(rows: d, columns: k)
        for a in 0..<d { w[a, 0] = first[a] }
        if k > 1 {
            let eigen = try SymmetricEigen(rest)
            for f in 1..<k {
                let column = d - f
                let scale = max(eigen.values[column], 0).squareRoot()
                for a in 0..<d { w[a, f] = eigen.vectors[a, column] * scale }
            }
        }
        var psi = (0..<d).map { a in
            var explained = 0.0
            for f in 0..<k { explained += w[a, f] * w[a, f] }
            return max(c[a, a] - explained, 1e-3 * c[a, a], floor)
        }
        psi[j] = max(1e-3 * c[j, j], floor)
        return try LinearGaussianModel(mean: mean, loadings: w, noiseVariances: psi, noise: .diagonal)
    }

    /// The probabilistic-PCA solution of the (mean-imputed) covariance.
    static func principalSubspace(_ data: LinearGaussianTrainingData, factors k: Int, floor: Double) throws -> LinearGaussianModel {
        let d = data.dimension
        let eigen = try SymmetricEigen(data.meanImputedCovariance)
        let values = Array(eigen.values.reversed())       // descending
        let discarded = values.dropFirst(k)
        let sigma2 = max(discarded.isEmpty ? floor : discarded.reduce(0, +) / Double(discarded.count), floor)
        var w = Matrix<Double>(rows: d, columns: k)
        for f in 0..<min(k, d) {
            let column = d - 1 - f
            let scale = max(values[f] - sigma2, 0).squareRoot()
            for j in 0..<d { w[j, f] = eigen.vectors[j, column] * scale }
        }
        return try LinearGaussianModel(mean: data.shift, loadings: w, noiseVariances: [Double](repeating: sigma2, count: d), noise: .isotropic)
    }
}

/// The starts of one linear-Gaussian fit, in the (scaled) coordinates it is fitted in: what each
/// start reached and the EM iterations spent, for the ``FitReport``.
struct StartSearch {
    let data: LinearGaussianTrainingData
    let options: LinearGaussianFitOptions
    /// Added to progress means so that they are in the data's units (the mean log-Jacobian).
    let meanOffset: Double
    /// Final log-likelihood of each start (NaN where it failed), in the fitted coordinates.
    var finals: [Double] = []
    /// EM iterations of every start.
    var spent = 0

    init(data: LinearGaussianTrainingData, options: LinearGaussianFitOptions, meanOffset: Double) {
        self.data = data
        self.options = options
        self.meanOffset = meanOffset
    }

    /// A column whose noise variance ends below this share of its variance is a Heywood candidate.
    static let heywoodShare = 0.05
    /// Heywood starts tried at most (the columns with the smallest shares).
    static let heywoodStarts = 3

    /// Factor analysis from several starts (in the unit-variance coordinates it is fitted in); the
    /// highest likelihood wins.
    ///
    /// 1. The probabilistic-PCA solution (`Ψ = σ² I`) and the same loadings with `Ψ = diag C`, each
    ///    column's whole variance (scikit-learn's start), each run to convergence.
    /// 2. *Heywood starts.* The maximum-likelihood solution often has a noise variance at zero (a
    ///    column the factors explain entirely), which EM from an interior start approaches
    ///    geometrically slowly, thousands of iterations for a fraction of a nat. Columns that are
    ///    candidates for it get a start on the boundary: up to ``heywoodStarts`` columns that the
    ///    best fit so far leaves less than ``heywoodShare`` of their variance as noise, and up to
    ///    as many whose variance the other columns leave less than that share of unexplained
    ///    (`1 / (Cⱼⱼ (C⁻¹)ⱼⱼ)`, which bounds `ψⱼ / Cⱼⱼ`). The start for column `j`: the first factor is column
    ///    `j`'s regression direction `C₍·ⱼ₎ / √Cⱼⱼ`, with `ψⱼ` a thousandth of `Cⱼⱼ`; the other
    ///    `k − 1` factors are the principal directions of what it leaves, `C − w wᵀ`.
    ///
    /// On the reference suite the PCA start alone missed the anchors' best in 3 of 22 entries: a
    /// second local optimum (crabs, 2 factors), found from `Ψ = diag C`, and Heywood optima (breast
    /// cancer, 1 and 2 factors), found from Heywood starts.
    ///
    /// - Complexity: two to eight EM runs; data whose columns are not nearly explained pays for two.
    mutating func fitFactorAnalysis(principal: LinearGaussianModel, factors k: Int) throws -> (LinearGaussianModel, EMTrace) {
        let c = data.meanImputedCovariance
        let d = data.dimension
        var starts: [LinearGaussianModel] = []
        if let pca = try? LinearGaussianModel(mean: principal.mean, loadings: principal.loadings,
                                              noiseVariances: principal.noiseVariances, noise: .diagonal) { starts.append(pca) }
        if let whole = try? LinearGaussianModel(mean: principal.mean, loadings: principal.loadings,
                                                noiseVariances: (0..<d).map { max(c[$0, $0], options.noiseFloor) }, noise: .diagonal) {
            starts.append(whole)
        }
        var best = try bestOf(starts)
        if k < d {
            let shares = (0..<d).map { c[$0, $0] > 0 ? best.0.noiseVariances[$0] / c[$0, $0] : .infinity }
            var candidates = Array((0..<d).filter { shares[$0] < Self.heywoodShare }.sorted { shares[$0] < shares[$1] }.prefix(Self.heywoodStarts))
            // The columns best predicted by the others: 1 / (C⁻¹)ⱼⱼ is the share of column j's
            // variance the others leave unexplained, an upper bound on any fit's ψⱼ / Cⱼⱼ.
            if let precision = try? Cholesky(c).inverse {
                let unexplained = (0..<d).map { c[$0, $0] > 0 ? 1 / (precision[$0, $0] * c[$0, $0]) : .infinity }
                for j in (0..<d).sorted(by: { unexplained[$0] < unexplained[$1] }).prefix(Self.heywoodStarts)
                    where unexplained[j] < Self.heywoodShare && !candidates.contains(j) { candidates.append(j) }
            }
            let boundary = candidates.compactMap { try? LinearGaussianFitting.heywoodStart(covariance: c, column: $0, factors: k, mean: data.shift, floor: options.noiseFloor) }
            if !boundary.isEmpty, let other = try? bestOf(boundary),
               other.1.logLikelihood > best.1.logLikelihood {
                best = other
            }
        }
        return best
    }

    /// The highest-likelihood fit of EM run to convergence from each of `starts`; records each
    /// start's final likelihood and iterations and reports progress.
    /// - Throws: the last error when every start fails.
    mutating func bestOf(_ starts: [LinearGaussianModel]) throws -> (LinearGaussianModel, EMTrace) {
        var best: (LinearGaussianModel, EMTrace)?
        var lastError: Error?
        for start in starts {
            var model = start
            let index = finals.count, offset = meanOffset, progress = options.progress
            do {
                let trace = try ExpectationMaximization.run(&model, on: data, count: data.count, options: options.em) { t, mean in
                    progress?(.iteration(start: index, iteration: t, meanLogLikelihood: mean + offset))
                }
                finals.append(trace.logLikelihood)
                spent += trace.iterations
                progress?(.startFinished(start: index, meanLogLikelihood: trace.logLikelihood / Double(data.count) + offset,
                                         iterations: trace.iterations, converged: trace.converged, degeneracies: []))
                if best == nil || trace.logLikelihood > best!.1.logLikelihood { best = (model, trace) }
            } catch {
                finals.append(.nan)
                lastError = error
                progress?(.startFailed(start: index, message: "\(error)"))
            }
        }
        guard let best else { throw lastError ?? ModelError.fitFailed("no factor-analysis start succeeded") }
        return best
    }
}
