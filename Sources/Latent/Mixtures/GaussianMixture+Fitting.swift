import Foundation

extension GaussianMixture {
    /// Fits a `components`-component mixture to the rows of `x` by EM.
    ///
    /// Each of `options.restarts` starts runs `options.shortRuns` short EM runs from independent
    /// initialisations and continues the best one to convergence; the start with the highest final
    /// likelihood wins. Starts are seeded from `options.seed`, so the same seed gives the same model.
    ///
    /// - Throws: ``ModelError`` for empty data, missing or non-finite values, more components than
    ///   rows, or when every start fails (a covariance that stays singular).
    public static func fit(_ x: Matrix<Double>, components: Int, options: MixtureFitOptions = MixtureFitOptions())
        throws -> (model: GaussianMixture, report: MixtureFitReport)
    {
        try validate(x, components: components, options: options)
        let data = MixtureTrainingData(x, covarianceType: options.covarianceType,
                                       regularization: options.regularization,
                                       relativeRegularization: options.relativeRegularization,
                                       threads: max(1, options.threads))
        let log = options.log

        if let warm = options.warmStart ?? options.initialMeans.map({ try? startFromMeans($0, data: data, type: options.covarianceType) }) ?? nil {
            guard warm.dimension == x.columns, warm.componentCount == components, warm.covarianceType == options.covarianceType else {
                throw ModelError.invalidSetting("the starting model has \(warm.componentCount) \(warm.covarianceType.rawValue) components in \(warm.dimension) dimensions; the fit asks for \(components) \(options.covarianceType.rawValue) components in \(x.columns)")
            }
            var model = warm
            let trace = try ExpectationMaximization.run(&model, on: data, count: x.rows, options: options.em) { i, mean in
                log?("iteration \(i): mean log-likelihood \(formatted(mean))")
            }
            let collapsed = model.collapsedComponents(data: data)
            let report = MixtureFitReport(trace: trace, startLogLikelihoods: [trace.logLikelihood], count: x.rows,
                                          warnings: collapsed.map(\.warning), collapsedComponents: collapsed.map(\.component))
            return (model, report)
        } else if options.initialMeans != nil {
            throw ModelError.invalidSetting("the initial means must be a \(components) × \(x.columns) matrix whose assignment gives positive-definite covariances")
        }

        let root = Xoshiro256StarStar(seed: options.seed)
        var best: (model: GaussianMixture, trace: EMTrace)?
        var finals: [Double] = []
        var failures: [String] = []
        for start in 0..<max(1, options.restarts) {
            var rng = root.derived(start)
            do {
                var (model, shortLL, shortIterations) = try bestShortRun(data: data, components: components, options: options, rng: &rng)
                var trace = try ExpectationMaximization.run(&model, on: data, count: x.rows, options: options.em) { i, mean in
                    log?("start \(start + 1), iteration \(i): mean log-likelihood \(formatted(mean))")
                }
                trace.iterations += shortIterations
                finals.append(trace.logLikelihood)
                log?("start \(start + 1): best short run \(formatted(shortLL / Double(x.rows))), converged to \(formatted(trace.logLikelihood / Double(x.rows))) after \(trace.iterations) iterations\(trace.converged ? "" : " (not converged)")")
                if best == nil || trace.logLikelihood > best!.trace.logLikelihood { best = (model, trace) }
            } catch {
                finals.append(.nan)
                failures.append("\(error)")
                log?("start \(start + 1) failed: \(error)")
            }
        }
        guard let best else { throw ModelError.fitFailed(failures.last ?? "no start succeeded") }
        let collapsed = best.model.collapsedComponents(data: data)
        var warnings = collapsed.map(\.warning)
        if !failures.isEmpty { warnings.append("\(failures.count) of \(finals.count) starts failed; the last said: \(failures.last!)") }
        return (best.model, MixtureFitReport(trace: best.trace, startLogLikelihoods: finals, count: x.rows, warnings: warnings,
                                             collapsedComponents: collapsed.map(\.component)))
    }

    static func validate(_ x: Matrix<Double>, components: Int, options: MixtureFitOptions) throws {
        guard x.rows > 0, x.columns > 0 else { throw ModelError.emptyData }
        guard components >= 1 else { throw ModelError.invalidSetting("the number of components must be at least 1") }
        guard x.rows >= components else {
            throw ModelError.tooFewPoints(points: x.rows, needed: components, what: "a mixture of \(components) components")
        }
        if let i = x.storage.firstIndex(where: { $0.isInfinite }) {
            throw ModelError.invalidSetting("row \(i / x.columns + 1), column \(i % x.columns + 1) holds \(x.storage[i]); Gaussian mixture fitting needs finite values (NaN marks a missing one)")
        }
        let empty = (0..<x.rows).filter { i in (0..<x.columns).allSatisfy { x[i, $0].isNaN } }
        if !empty.isEmpty {
            throw ModelError.invalidSetting("row(s) \(empty.prefix(10).map { String($0 + 1) }.joined(separator: ", ")) have every value missing; drop them")
        }
        guard options.regularization >= 0, options.regularization.isFinite,
              options.relativeRegularization >= 0, options.relativeRegularization.isFinite else {
            throw ModelError.invalidSetting("the regularisation must be a non-negative number")
        }
        guard options.em.tolerance >= 0 else { throw ModelError.invalidSetting("the tolerance must be non-negative") }
        guard options.em.maxIterations >= 1 else { throw ModelError.invalidSetting("the iteration limit must be at least 1") }
    }

    /// Runs the short EM runs of one start and returns the best model with its likelihood.
    static func bestShortRun(data: MixtureTrainingData, components: Int, options: MixtureFitOptions,
                             rng: inout Xoshiro256StarStar) throws -> (GaussianMixture, Double, Int) {
        let runs = max(1, options.shortRuns)
        var best: (GaussianMixture, Double, Int)?
        var lastError: Error?
        for run in 0..<runs {
            var runRNG = rng.derived(run)
            do {
                var model = try initialize(data: data, components: components, type: options.covarianceType,
                                           method: options.initialization, rng: &runRNG)
                if runs == 1 { return (model, -.infinity, 0) }
                let short = EMOptions(maxIterations: options.shortRunIterations, tolerance: options.em.tolerance)
                let trace = try ExpectationMaximization.run(&model, on: data, count: data.data.rows, options: short)
                if best == nil || trace.logLikelihood > best!.1 { best = (model, trace.logLikelihood, trace.iterations) }
            } catch {
                lastError = error
            }
        }
        guard let best else { throw lastError ?? ModelError.fitFailed("no initialisation succeeded") }
        return best
    }

    /// Starting parameters by the chosen method.
    static func initialize(data: MixtureTrainingData, components k: Int, type: CovarianceType,
                           method: MixtureInitialization, rng: inout Xoshiro256StarStar) throws -> GaussianMixture {
        let x = data.initializationData, n = x.rows
        var r = Matrix<Double>(rows: n, columns: k)
        switch method {
        case .kmeans, .kmeansPlusPlus, .randomFromData:
            let seeds = method == .randomFromData
                ? rng.sampleWithoutReplacement(k, from: n)
                : KMeans.plusPlusSeeds(x, count: k, using: &rng)
            var centers = x.selectingRows(seeds)
            var labels: [Int]
            if method == .kmeans {
                (centers, labels) = KMeans.lloyd(x, centers: centers)
            } else {
                labels = KMeans.nearest(x, centers)
            }
            for i in 0..<n { r[i, labels[i]] = 1 }
        case .random:
            for i in 0..<n {
                var s = 0.0
                for c in 0..<k { r[i, c] = rng.nextUniform(); s += r[i, c] }
                for c in 0..<k { r[i, c] /= s }
            }
        }
        return try fromResponsibilities(r, type: type, data: data)
    }

    /// Starting parameters from given means: hard assignment to the nearest mean, then one M-step.
    static func startFromMeans(_ means: Matrix<Double>, data: MixtureTrainingData, type: CovarianceType) throws -> GaussianMixture {
        precondition(means.columns == data.data.columns, "Initial means must have one column per data column")
        let labels = KMeans.nearest(data.initializationData, means)
        var r = Matrix<Double>(rows: data.data.rows, columns: means.rows)
        for (i, l) in labels.enumerated() { r[i, l] = 1 }
        return try fromResponsibilities(r, type: type, data: data)
    }

    /// Warnings for components that collapsed onto repeated values: a variance at the regularisation
    /// floor makes the likelihood grow without bound and the fit meaningless.
    func collapsedComponents(data: MixtureTrainingData) -> [(component: Int, warning: String)] {
        let d = dimension
        var warnings: [(component: Int, warning: String)] = []
        for c in 0..<componentCount {
            let cov = covariances.matrix(component: c, dimension: d)
            // What the component's own points contribute above the floor is nil next to the data's spread.
            for j in 0..<d where cov[j, j] - data.floors[j] <= 1e-6 * data.columnVariances[j] && data.columnVariances[j] > 0 {
                warnings.append((c, "component \(c) has collapsed onto repeated values in column \(j) (variance \(formatted(cov[j, j])), the regularisation floor): its likelihood is spurious. Set a floor relative to the data's scale (--relative-regularization 1e-3 adds 1e-3 × each column's variance) or use fewer components."))
                break
            }
        }
        return warnings
    }
}

/// A number with 6 significant digits for messages.
func formatted(_ v: Double) -> String { String(format: "%.6g", v) }
