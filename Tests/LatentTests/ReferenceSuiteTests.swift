import Foundation
import Testing
import Latent
import TestSupport

/// Default fits against the anchors' best-known optima on real data (`Data/reference/anchors.json`):
/// the share of (entry, seed) pairs that come within 1e-3 nats per row of the anchor's best
/// eligible optimum, with no option beyond the model's size. Misses are printed with their gap.
/// `LATENT_REFERENCE_SEEDS=5` runs five seeds per entry.
///
/// The goal is 95% for every family; the floors below are what the defaults reach today (measured
/// with seed 0: mixtures 90.0% (89.3% over seeds 0–5), or 96.4% against scikit-learn's best of 60
/// k-means starts (95.1% over seeds 0–5); HMMs 97.5%, 39 of 40 (95.0% over seeds 0–7, 95.4% over seeds 0–13);
/// Gaussian-mixture HMMs 100%, 14 of 14 (96.4% over seeds 0–5); factor analysis 100%), so that a
/// change that loses ground fails here. Raise them as the search improves. (SQUAREM and a fourth
/// mixture start moved the mixtures from 91.4% to 90.7% with seed 0 alone, and from 89.1% to 90.1%
/// over seeds 0–5; the start in data units from 90.7% to 90.0% and 90.0% to 89.3% against the best
/// of all 60 mixed starts, while against the k-means starts it gained 2 fits with seed 0, kept
/// 1,598 of 1,680 over seeds 0–5, and gained 4 of 108 on nine held-out data sets; the floor of the
/// mixed anchor is 89% so that one fit either way does not decide.) The mixture test also prints
/// the wall time of the default fits against one
/// plain EM run each, in all and by number of components (not asserted: timings belong to `make bench`).
@Suite(.serialized) struct ReferenceSuiteTests {
    static let suite = try! ReferenceSuite.load()
    static let tolerance = 1e-3
    static let mixtureFloor = 0.89, mixtureKMeansFloor = 0.95, hmmFloor = 0.95, gmmhmmFloor = 0.92, factorFloor = 0.95

    struct Tally {
        var hits = 0, total = 0
        var misses: [String] = []
        mutating func record(_ entry: ReferenceSuite.Entry, seed: UInt64, mean: Double, reference: Double) {
            total += 1
            if mean >= reference - ReferenceSuiteTests.tolerance { hits += 1 } else {
                misses.append("\(entry) seed \(seed): \(String(format: "%.5f", mean)) < \(String(format: "%.5f", reference)) by \(String(format: "%.4f", reference - mean))")
            }
        }
        func report(_ family: String) {
            print("\(family) reference suite: \(hits) of \(total) default fits reach the anchor's best (\(String(format: "%.1f", 100 * rate))%)")
            for m in misses { print("  miss: \(m)") }
        }
        var rate: Double { Double(hits) / Double(max(1, total)) }
    }

    @Test func defaultMixtureFitsReachTheAnchorsBest() throws {
        let entries = Self.suite.entries("gmm")
        #expect(entries.count >= 200)
        var tally = Tally(), kmeansTally = Tally()
        var defaultIterations = 0, plainIterations = 0
        var defaultNanos: UInt64 = 0, plainNanos: UInt64 = 0
        struct Costs { var defaultIterations = 0, plainIterations = 0, defaultNanos: UInt64 = 0, plainNanos: UInt64 = 0 }
        var byComponents: [Int: Costs] = [:]   // the same sums per number of components
        for entry in entries {
            let x = try entry.load()
            let type = try #require(CovarianceType(rawValue: entry.covariance ?? ""))
            for s in 0..<ReferenceSuite.seedsPerEntry {
                let seed = UInt64(s)
                var options = MixtureFitOptions()
                options.covarianceType = type
                options.seed = seed
                options.threads = 1
                let t0 = DispatchTime.now().uptimeNanoseconds
                let (model, report) = try GaussianMixture.fit(x, components: entry.components!, options: options)
                let defaultTime = DispatchTime.now().uptimeNanoseconds - t0
                defaultNanos += defaultTime
                #expect(report.degeneracies.isEmpty, "\(entry): a degenerate fit was returned")
                #expect(abs(model.meanLogLikelihood(of: x) - report.meanLogLikelihood) < 1e-9)
                tally.record(entry, seed: seed, mean: report.meanLogLikelihood, reference: entry.bestMeanLogLikelihood!)
                if let reference = entry.kmeansBestMeanLogLikelihood {
                    kmeansTally.record(entry, seed: seed, mean: report.meanLogLikelihood, reference: reference)
                }
                defaultIterations += report.totalIterations
                byComponents[entry.components!, default: Costs()].defaultIterations += report.totalIterations
                byComponents[entry.components!, default: Costs()].defaultNanos += defaultTime
                // One plain EM run from one initialisation, for the cost ratio.
                options.shortRuns = 1
                options.splitMergeTrials = 0
                options.restarts = 1
                options.em.acceleration = .none
                let t1 = DispatchTime.now().uptimeNanoseconds
                let plainFit = try? GaussianMixture.fit(x, components: entry.components!, options: options)
                let plainTime = DispatchTime.now().uptimeNanoseconds - t1
                plainNanos += plainTime
                byComponents[entry.components!, default: Costs()].plainNanos += plainTime
                if let plain = plainFit {
                    plainIterations += plain.report.totalIterations
                    byComponents[entry.components!, default: Costs()].plainIterations += plain.report.totalIterations
                }
            }
        }
        tally.report("Gaussian mixture")
        kmeansTally.report("Gaussian mixture (against scikit-learn's best of 60 k-means starts)")
        print("Gaussian mixture reference suite: default fits spent \(defaultIterations) EM iterations, plain EM \(plainIterations) (\(String(format: "%.2f", Double(defaultIterations) / Double(max(1, plainIterations))))×)")
        print("Gaussian mixture reference suite: wall time \(Double(defaultNanos) / 1e9) s default, \(Double(plainNanos) / 1e9) s plain (\(String(format: "%.2f", Double(defaultNanos) / Double(max(1, plainNanos))))×)")
        for (k, c) in byComponents.sorted(by: { $0.key < $1.key }) {
            let iterations = Double(c.defaultIterations) / Double(max(1, c.plainIterations))
            let wall = Double(c.defaultNanos) / Double(max(1, c.plainNanos)), share = Double(c.plainNanos) / Double(max(1, plainNanos))
            print("  K = \(k): \(String(format: "%.2f", iterations))× the iterations, \(String(format: "%.2f", wall))× the wall time of plain runs, which spent \(String(format: "%.0f", 100 * share))% of theirs here")
        }
        #expect(tally.rate >= Self.mixtureFloor)
        #expect(kmeansTally.total == tally.total)
        #expect(kmeansTally.rate >= Self.mixtureKMeansFloor)
        // The search costs at most five plain EM runs, counted in EM iterations (not counted: the
        // split-and-merge ranking, one responsibilities pass per kept move, and the eigenvalue checks).
        #expect(Double(defaultIterations) <= 5 * Double(plainIterations))
    }

    @Test func defaultHMMFitsReachTheAnchorsBest() throws {
        let entries = Self.suite.entries("hmm")
        #expect(entries.count >= 30)
        var tally = Tally()
        var defaultIterations = 0, plainIterations = 0
        var defaultNanos: UInt64 = 0, plainNanos: UInt64 = 0
        for entry in entries {
            let x = try entry.load()
            for s in 0..<ReferenceSuite.seedsPerEntry {
                let seed = UInt64(s)
                let states = try #require(entry.states)
                // The default fit, and one plain Baum-Welch run for the cost ratio.
                func fits<E: HMMEmission>(_ options: HMMFitOptions<E>) throws -> (FitReport, FitReport?) {
                    var plain = options
                    (plain.restarts, plain.shortRuns, plain.splitMergeTrials) = (1, 1, 0)
                    plain.em.acceleration = .none
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let report = try Self.fitHMM(x, states: states, seed: seed, options: options)
                    let t1 = DispatchTime.now().uptimeNanoseconds
                    let plainReport = try? Self.fitHMM(x, states: states, seed: seed, options: plain)
                    defaultNanos += t1 - t0
                    plainNanos += DispatchTime.now().uptimeNanoseconds - t1
                    return (report, plainReport)
                }
                let (report, plain): (FitReport, FitReport?)
                switch entry.emission {
                case "gaussian":
                    var options = HMMFitOptions<GaussianEmission>()
                    options.covarianceType = try #require(CovarianceType(rawValue: entry.covariance ?? ""))
                    (report, plain) = try fits(options)
                case "poisson":
                    (report, plain) = try fits(HMMFitOptions<PoissonEmission>())
                default:
                    (report, plain) = try fits(HMMFitOptions<CategoricalEmission>())
                }
                #expect(report.degeneracies.isEmpty, "\(entry): a degenerate fit was returned")
                let n = Double(entry.n)
                tally.record(entry, seed: seed, mean: report.logLikelihood / n, reference: entry.bestLogLikelihood! / n)
                defaultIterations += report.totalIterations
                plainIterations += plain?.totalIterations ?? 0
            }
        }
        tally.report("Hidden Markov model")
        print("Hidden Markov model reference suite: default fits spent \(defaultIterations) Baum-Welch iterations, plain runs \(plainIterations) (\(String(format: "%.2f", Double(defaultIterations) / Double(max(1, plainIterations))))×)")
        print("Hidden Markov model reference suite: wall time \(Double(defaultNanos) / 1e9) s default, \(Double(plainNanos) / 1e9) s plain (\(String(format: "%.2f", Double(defaultNanos) / Double(max(1, plainNanos))))×)")
        #expect(tally.rate >= Self.hmmFloor)
    }

    /// hmmlearn's GMMHMM (best eligible of 30 starts) against the default fit with a Gaussian
    /// mixture per state.
    @Test func defaultGaussianMixtureHMMFitsReachTheAnchorsBest() throws {
        let entries = Self.suite.entries("gmmhmm")
        #expect(entries.count >= 10)
        var tally = Tally()
        for entry in entries {
            let x = try entry.load()
            for s in 0..<ReferenceSuite.seedsPerEntry {
                var options = HMMFitOptions<GaussianMixtureEmission>()
                options.covarianceType = try #require(CovarianceType(rawValue: entry.covariance ?? ""))
                options.emissionSettings = .init(componentsPerState: try #require(entry.componentsPerState))
                let report = try Self.fitHMM(x, states: try #require(entry.states), seed: UInt64(s), options: options)
                #expect(report.degeneracies.isEmpty, "\(entry): a degenerate fit was returned")
                let n = Double(entry.n)
                tally.record(entry, seed: UInt64(s), mean: report.logLikelihood / n, reference: entry.bestLogLikelihood! / n)
            }
        }
        tally.report("Gaussian-mixture HMM")
        #expect(tally.rate >= Self.gmmhmmFloor)
    }

    /// A default fit (but for the options given), seeded, on one thread.
    static func fitHMM<E: HMMEmission>(_ x: Matrix<Double>, states: Int, seed: UInt64, options: HMMFitOptions<E>) throws -> FitReport {
        var options = options
        options.seed = seed
        options.threads = 1
        return try HiddenMarkovModel<E>.fit(x, states: states, options: options).report
    }

    @Test func defaultFactorAnalysisReachesTheAnchorsBest() throws {
        let entries = Self.suite.entries("fa")
        #expect(entries.count >= 15)
        var tally = Tally()
        for entry in entries {
            let x = try entry.load()
            let (_, report) = try FactorAnalysis.fit(x, factors: entry.factors!)
            tally.record(entry, seed: 0, mean: report.meanLogLikelihood, reference: entry.bestMeanLogLikelihood!)
        }
        tally.report("Factor analysis")
        #expect(tally.rate >= Self.factorFloor)
    }
}
