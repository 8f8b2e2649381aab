import Foundation
import Testing
import TestSupport

/// `latent fit bayesian-gmm` and the commands that read its model.
@Suite(.serialized) struct BayesianMixtureCLITests {
    let dir = TestData.temporaryDirectory()

    func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func fitScorePredictSampleAndInfo() throws {
        let faithful = TestData.path("faithful.csv"), model = dir.appendingPathComponent("bg.json").path
        let r = try CommandRunner.run(["fit", "bayesian-gmm", "--data", faithful, "--components", "6", "--output", model, "--json", "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let o = try json(r.standardOutput)
        for key in ["model", "meanLogLikelihood", "logLikelihood", "n", "parameters", "bic", "aic", "iterations", "converged", "seconds",
                    "lowerBound", "effectiveComponents"] {
            #expect(o[key] != nil, "missing \(key)")
        }
        #expect(o["model"] as? String == "bayesian-gmm" && o["effectiveComponents"] as? Int == 2)
        let lowerBound = try #require(o["lowerBound"] as? Double), logLikelihood = try #require(o["logLikelihood"] as? Double)
        #expect(lowerBound < logLikelihood)   // the evidence bound lies below the predictive likelihood of the same data here
        let score = try json(CommandRunner.run(["score", "--model", model, "--data", faithful, "--json"]).standardOutput)
        #expect(abs((score["logLikelihood"] as! Double) - logLikelihood) < 1e-6)
        let labels = try CommandRunner.run(["predict", "--model", model, "--data", faithful]).standardOutput.split(separator: "\n").dropFirst()
        #expect(labels.count == 272 && Set(labels).count == 2)
        let sample = try CommandRunner.run(["sample", "--model", model, "--count", "5", "--seed", "1"]).standardOutput.split(separator: "\n")
        #expect(sample.first == "eruptions,waiting,component" && sample.count == 6)
        let info = try json(CommandRunner.run(["info", "--model", model, "--json"]).standardOutput)
        #expect(info["effectiveComponents"] as? Int == 2 && (info["lowerBound"] as? Double).map { abs($0 - lowerBound) < 1e-9 } == true)
        // Rows with a missing value are refused with the row and column named, not scored as NaN.
        let missing = dir.appendingPathComponent("missing.csv").path
        try "eruptions,waiting\n3.6,79\nNA,54\n".write(toFile: missing, atomically: true, encoding: .utf8)
        let refused = try CommandRunner.run(["score", "--model", model, "--data", missing])
        #expect(refused.status != 0 && refused.standardError.contains("row 3, column 'eruptions'"), "\(refused.standardError)")
    }

    @Test(arguments: ["tied", "diag", "spherical"])
    func everyCovarianceTypeFitsScoresAndReloads(_ covariance: String) throws {
        let faithful = TestData.path("faithful.csv"), model = dir.appendingPathComponent("bg-\(covariance).json").path
        let r = try CommandRunner.run(["fit", "bayesian-gmm", "--data", faithful, "--components", "6", "--covariance", covariance,
                                       "--output", model, "--json", "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let o = try json(r.standardOutput)
        #expect(o["covariance"] as? String == covariance)
        let effective = try #require(o["effectiveComponents"] as? Int)
        // Spherical components on unscaled columns (minutes against seconds) need more of them.
        #expect((2...6).contains(effective), "\(covariance): \(effective) effective components")
        let score = try json(CommandRunner.run(["score", "--model", model, "--data", faithful, "--json"]).standardOutput)
        #expect(abs((score["logLikelihood"] as! Double) - (o["logLikelihood"] as! Double)) < 1e-6)
        let info = try json(CommandRunner.run(["info", "--model", model, "--json"]).standardOutput)
        #expect(info["covariance"] as? String == covariance)
        let sample = try CommandRunner.run(["sample", "--model", model, "--count", "3", "--seed", "1"]).standardOutput.split(separator: "\n")
        #expect(sample.count == 4)
    }
}
