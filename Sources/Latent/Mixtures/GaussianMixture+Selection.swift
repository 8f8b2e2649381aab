import Foundation

/// One candidate of a model selection: its size, covariance type and what fitting it gave.
public struct MixtureCandidate: Sendable {
    /// What the fit of a candidate gave.
    public enum Outcome: Sendable {
        /// A proper fit, with its BIC and AIC.
        case fitted(model: GaussianMixture, report: FitReport, bic: Double, aic: Double)
        /// Every start collapsed onto repeated values: not eligible (the message says what to do).
        case collapsed(message: String)
        /// The fit failed (the message says why).
        case failed(message: String)
    }

    public let components: Int
    public let covarianceType: CovarianceType
    public let outcome: Outcome

    /// The BIC of a proper fit, nil otherwise.
    public var bic: Double? {
        if case .fitted(_, _, let bic, _) = outcome { return bic }
        return nil
    }
}

/// The result of ``GaussianMixture/selectByBIC(_:components:covarianceTypes:options:progress:)``.
public struct MixtureSelection: Sendable {
    /// Every candidate, by number of components and then covariance type, in the order given.
    public let candidates: [MixtureCandidate]
    /// The index in ``candidates`` of the lowest BIC among fits with no collapsed component.
    public let bestIndex: Int

    /// The chosen model and its report.
    public var best: (model: GaussianMixture, report: FitReport, bic: Double) {
        guard case .fitted(let model, let report, let bic, _) = candidates[bestIndex].outcome else {
            preconditionFailure("the best candidate is always a proper fit")
        }
        return (model, report, bic)
    }
}

extension GaussianMixture {
    /// Fits every combination of `components` and `covarianceTypes` with `options` (its covariance
    /// type is replaced by each of `covarianceTypes`) and chooses the lowest BIC,
    /// `−2 log L + p log N`, among fits whose components are proper: a combination whose every start
    /// collapsed is listed but never chosen (its likelihood is spurious).
    ///
    /// - Parameters:
    ///   - x: `N × D` rows (missing values allowed, as in ``GaussianMixture/fit(_:components:options:)``).
    ///   - components: the numbers of components to try.
    ///   - covarianceTypes: the covariance types to try.
    ///   - options: the settings of every fit.
    ///   - progress: receives each candidate as it is fitted.
    /// - Throws: ``ModelError/fitFailed(_:)`` when no combination gives a proper fit.
    /// - Complexity: one default fit per combination.
    public static func selectByBIC(_ x: Matrix<Double>, components: [Int], covarianceTypes: [CovarianceType],
                                   options: MixtureFitOptions = MixtureFitOptions(),
                                   progress: ((MixtureCandidate) -> Void)? = nil) throws -> MixtureSelection {
        var candidates: [MixtureCandidate] = []
        var bestIndex: Int?
        for k in components {
            for type in covarianceTypes {
                var o = options
                o.covarianceType = type
                let outcome: MixtureCandidate.Outcome
                do {
                    let (model, report) = try fit(x, components: k, options: o)
                    if !report.collapsedComponents.isEmpty {
                        outcome = .collapsed(message: report.warnings.joined(separator: " "))
                    } else {
                        outcome = .fitted(model: model, report: report,
                                          bic: bic(logLikelihood: report.logLikelihood, parameters: model.parameterCount, count: x.rows),
                                          aic: aic(logLikelihood: report.logLikelihood, parameters: model.parameterCount))
                    }
                } catch ModelError.degenerateFit(let message) {
                    outcome = .collapsed(message: message)
                } catch {
                    outcome = .failed(message: "\(error)")
                }
                let candidate = MixtureCandidate(components: k, covarianceType: type, outcome: outcome)
                if let bic = candidate.bic, bestIndex.map({ bic < candidates[$0].bic! }) ?? true { bestIndex = candidates.count }
                candidates.append(candidate)
                progress?(candidate)
            }
        }
        guard let bestIndex else { throw ModelError.fitFailed("no combination could be fitted without a collapsed component") }
        return MixtureSelection(candidates: candidates, bestIndex: bestIndex)
    }
}
