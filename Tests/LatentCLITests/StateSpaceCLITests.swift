import Foundation
import Testing
import TestSupport

/// `latent fit lds`, `filter`, `smooth`, `forecast`, `score`, `sample` and `info` on the Nile flows.
@Suite(.serialized) struct StateSpaceCLITests {
    let dir = TestData.temporaryDirectory()

    func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func rows(_ text: String) -> [[Double]] {
        text.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) ?? .nan } }
    }

    static let localLevel = ["--latent", "1", "--transition", "1", "--observation", "1", "--fix", "transition,observation,offset",
                             "--initial-state", "diffuse"]

    @Test func theNileLocalLevelModelFromTheCommandLine() throws {
        let nile = TestData.path("nile.csv"), model = dir.appendingPathComponent("nile-lds.json").path
        let r = try CommandRunner.run(["fit", "lds", "--data", nile, "--columns", "flow"] + Self.localLevel + ["--output", model, "--json", "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let o = try json(r.standardOutput)
        for key in ["model", "meanLogLikelihood", "logLikelihood", "n", "parameters", "bic", "aic", "iterations", "converged", "seconds",
                    "finalRunIterations", "latent", "observationNoise", "initialState", "fixed", "sequences"] {
            #expect(o[key] != nil, "missing \(key)")
        }
        #expect(o["model"] as? String == "lds" && o["n"] as? Int == 100 && o["parameters"] as? Int == 2)
        let logLikelihood = try #require(o["logLikelihood"] as? Double)
        #expect(logLikelihood > -632.55)   // statsmodels: −632.54
        // score equals the fit; info names the parameters.
        let score = try json(CommandRunner.run(["score", "--model", model, "--data", nile, "--json"]).standardOutput)
        #expect(abs((score["logLikelihood"] as! Double) - logLikelihood) < 1e-6)
        let info = try json(CommandRunner.run(["info", "--model", model, "--json"]).standardOutput)
        let r11 = try #require((info["observationNoiseCovariance"] as? [[Double]])?.first?.first)
        #expect(abs(r11 - 15_078) / 15_078 < 0.01)
        // The smoothed level: above 1,000 before the dam (1871–1896), below 950 from 1900 on.
        let smooth = rows(try CommandRunner.run(["smooth", "--model", model, "--data", nile]).standardOutput)
        #expect(smooth.count == 100 && smooth[0].count == 3)
        #expect(smooth[0..<26].allSatisfy { $0[1] > 1_000 } && smooth[29...].allSatisfy { $0[1] < 950 })
        // Filtered uncertainty is never below the smoothed one.
        let filtered = rows(try CommandRunner.run(["filter", "--model", model, "--data", nile]).standardOutput)
        #expect(zip(filtered, smooth).allSatisfy { $0[2] >= $1[2] - 1e-9 })
        // Forecasts: a flat level whose interval widens.
        let forecast = rows(try CommandRunner.run(["forecast", "--model", model, "--data", nile, "--steps", "5"]).standardOutput)
        #expect(forecast.count == 5)
        #expect(forecast.allSatisfy { abs($0[2] - forecast[0][2]) < 1e-9 })
        #expect(zip(forecast, forecast.dropFirst()).allSatisfy { $1[4] - $1[3] > $0[4] - $0[3] })
        // A diffuse first state has nothing to draw from: refused with what to do.
        let diffuseSample = try CommandRunner.run(["sample", "--model", model, "--count", "5"])
        #expect(diffuseSample.status != 0 && diffuseSample.standardError.contains("--initial-state learned"), "\(diffuseSample.standardError)")
        // The same model with a learned first state: samples in blocks continue one path, 10,000 rows,
        // the level wandering but not jumping.
        let learned = dir.appendingPathComponent("nile-learned.json").path
        let fitLearned = try CommandRunner.run(["fit", "lds", "--data", nile, "--columns", "flow", "--latent", "1", "--transition", "1",
                                                "--observation", "1", "--fix", "transition,observation,offset", "--output", learned, "--quiet"])
        #expect(fitLearned.status == 0, "\(fitLearned.standardError)")
        let sample = try CommandRunner.run(["sample", "--model", learned, "--count", "10000", "--seed", "3"])
        let drawn = rows(sample.standardOutput)
        #expect(drawn.count == 10_000 && sample.standardOutput.hasPrefix("flow,x1\n"))
        let steps = zip(drawn, drawn.dropFirst()).map { abs($1[1] - $0[1]) }
        #expect(steps.max()! < 8 * 1_479.0.squareRoot())   // Q ≈ 1,280 in this fit: no jump between blocks
        #expect(abs(drawn[0][1] - 1_120) < 500)   // the first level near the series' start, not at 0
    }

    @Test func missingValuesAndSequencesAreFilteredThrough() throws {
        // Two sequences of the Nile flows with gaps; the fit, score and smoother take them as they are.
        let lines = try String(contentsOfFile: TestData.path("nile.csv"), encoding: .utf8).split(separator: "\n")
        var text = "run,flow\n"
        for (i, line) in lines.dropFirst().enumerated() {
            let flow = line.split(separator: ",")[1]
            text += "\(i < 50 ? 1 : 2),\(i % 7 == 3 ? "NA" : String(flow))\n"
        }
        let data = dir.appendingPathComponent("gaps.csv").path, model = dir.appendingPathComponent("gaps.json").path
        try text.write(toFile: data, atomically: true, encoding: .utf8)
        let r = try CommandRunner.run(["fit", "lds", "--data", data, "--sequence-column", "run", "--latent", "1", "--output", model, "--json", "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let o = try json(r.standardOutput)
        #expect(o["sequences"] as? Int == 2 && o["missingValues"] as? Int == 14)
        let history = try #require(o["logLikelihood"] as? Double)
        let score = try json(CommandRunner.run(["score", "--model", model, "--data", data, "--json"]).standardOutput)
        #expect(abs((score["logLikelihood"] as! Double) - history) < 1e-6)
        #expect(score["sequences"] as? Int == 2)
        let smooth = rows(try CommandRunner.run(["smooth", "--model", model, "--data", data]).standardOutput)
        #expect(smooth.count == 100 && smooth.allSatisfy { $0[1].isFinite && $0[2] > 0 })
        #expect(smooth[49][0] == 0 && smooth[50][0] == 1)
    }

    @Test func badOptionsAreRefusedWithAMessage() throws {
        let nile = TestData.path("nile.csv"), out = dir.appendingPathComponent("m.json").path
        let cases: [([String], String)] = [
            (["fit", "lds", "--data", nile, "--columns", "flow", "--latent", "1", "--fix", "transition", "--output", out], "--fix transition needs its value"),
            (["fit", "lds", "--data", nile, "--columns", "flow", "--latent", "2", "--transition", "1,0", "--output", out], "--transition must be 2 × 2"),
            (["fit", "lds", "--data", nile, "--columns", "flow", "--latent", "1", "--fix", "noise", "--output", out], "'noise' is not a parameter"),
            (["fit", "lds", "--data", nile, "--columns", "flow", "--latent", "0", "--output", out], "--latent must be at least 1"),
            (["fit", "lds", "--data", nile, "--columns", "flow", "--latent", "1", "--transition", "x", "--output", out], "'x' is not a number"),
        ]
        for (arguments, message) in cases {
            let r = try CommandRunner.run(arguments)
            #expect(r.status != 0 && r.standardError.contains(message), "\(arguments): \(r.standardError)")
        }
        let gmm = dir.appendingPathComponent("gmm.json").path
        #expect(try CommandRunner.run(["fit", "gmm", "--data", TestData.path("faithful.csv"), "--components", "2", "--output", gmm, "--quiet"]).status == 0)
        let r = try CommandRunner.run(["smooth", "--model", gmm, "--data", TestData.path("faithful.csv")])
        #expect(r.status != 0 && r.standardError.contains("linear dynamical systems"), "\(r.standardError)")
    }
}
