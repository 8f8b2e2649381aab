import Foundation
import Testing
import TestSupport

/// `latent compare`: one held-out table whose numbers are those of `latent fit` + `latent score`.
@Suite(.serialized) struct CompareCLITests {
    let dir = TestData.temporaryDirectory()

    func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// Old Faithful split into every fourth row held out (68) and the rest (204).
    func split() throws -> (train: String, test: String) {
        let lines = try String(contentsOfFile: TestData.path("faithful.csv"), encoding: .utf8).split(separator: "\n").map(String.init)
        let rows = lines.dropFirst().enumerated()
        let train = dir.appendingPathComponent("train.csv").path, test = dir.appendingPathComponent("test.csv").path
        try ([lines[0]] + rows.filter { $0.offset % 4 != 0 }.map(\.element)).joined(separator: "\n").write(toFile: train, atomically: true, encoding: .utf8)
        try ([lines[0]] + rows.filter { $0.offset % 4 == 0 }.map(\.element)).joined(separator: "\n").write(toFile: test, atomically: true, encoding: .utf8)
        return (train, test)
    }

    @Test func theTableRanksEveryFamilyAndEqualsFitPlusScore() throws {
        let (train, test) = try split()
        let html = dir.appendingPathComponent("compare.html").path
        let r = try CommandRunner.run(["compare", "--train", train, "--test", test, "--seed", "3", "--json", "--quiet", "--output", html,
                                       "--models", "gmm:components=2,fa:factors=1,bayesian-gmm:components=5;covariance=diag,vae:latent=1;epochs=3;likelihood=gaussian,rbm:hidden=4,hmm:states=2"])
        #expect(r.status == 0, "\(r.standardError)")
        let o = try json(r.standardOutput)
        let models = try #require(o["models"] as? [[String: Any]])
        #expect(models.count == 4)
        let n = try #require(o["n"] as? [String: Any])
        #expect(n["train"] as? Int == 204 && n["test"] as? Int == 68)
        for m in models {
            for key in ["spec", "family", "estimator", "testMeanLogLikelihood", "standardError", "trainMeanLogLikelihood", "parameters", "bic", "fitSeconds"] {
                #expect(m[key] != nil, "missing \(key)")
            }
        }
        // A Gaussian decoder is scored in single precision (bfloat16 is for Bernoulli decoders only).
        #expect(models.first { $0["family"] as? String == "vae" }?["precision"] as? String == "fp32")
        #expect(models.filter { $0["precision"] != nil }.count == 1)
        let means = models.map { $0["testMeanLogLikelihood"] as! Double }
        #expect(means == means.sorted(by: >), "not sorted best first: \(means)")
        let skipped = try #require(o["skipped"] as? [[String: Any]])
        #expect(skipped.map { $0["spec"] as! String } == ["rbm:hidden=4", "hmm:states=2"])
        #expect((skipped[0]["reason"] as? String)?.contains("[0, 1]") == true)
        // The same settings through fit + score give the same numbers.
        for (family, settings, spec) in [("gmm", ["--components", "2"], "gmm:components=2"),
                                         ("bayesian-gmm", ["--components", "5", "--covariance", "diag"], "bayesian-gmm:components=5;covariance=diag"),
                                         ("vae", ["--latent", "1", "--epochs", "3", "--likelihood", "gaussian"], "vae:latent=1;epochs=3;likelihood=gaussian")] {
            let model = dir.appendingPathComponent("\(family).model").path
            let fit = try CommandRunner.run(["fit", family, "--data", train, "--seed", "3", "--output", model, "--quiet"] + settings)
            #expect(fit.status == 0, "\(fit.standardError)")
            let score = try json(CommandRunner.run(["score", "--model", model, "--data", test, "--seed", "3", "--json"]).standardOutput)
            let row = try #require(models.first { $0["spec"] as? String == spec })
            #expect(row["testMeanLogLikelihood"] as? Double == score["meanLogLikelihood"] as? Double, "\(spec)")
            #expect(row["parameters"] as? Int == score["parameters"] as? Int)
        }
        // A SPEC may not redirect the data or the model file.
        let redirected = try CommandRunner.run(["compare", "--train", train, "--test", test, "--models", "gmm:components=2;data=\(test)"])
        #expect(redirected.status != 0 && redirected.standardError.contains("set by compare itself"))
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("<table>") && page.contains("gmm:components=2") && !page.contains("<script"))
    }

    @Test func holdoutSplitsCSVAndIDXFilesInTheirOwnFormat() throws {
        let faithful = try json(CommandRunner.run(["compare", "--train", TestData.path("faithful.csv"), "--holdout", "0.25", "--json", "--quiet",
                                                   "--models", "gmm:components=2,fa:factors=1"]).standardOutput)
        let n = try #require(faithful["n"] as? [String: Any])
        #expect(n["train"] as? Int == 204 && n["test"] as? Int == 68)
        // Digits: IDX in, IDX parts out, so the image scaling and --binarize apply as to the original.
        let r = try CommandRunner.run(["compare", "--train", TestData.path("mnist5k-train-images.idx3-ubyte"), "--holdout", "0.25", "--json", "--quiet",
                                       "--models", "rbm:hidden=8;binarize;epochs=1,vae:latent=2;hidden=32;epochs=1;binarize,gmm:components=2;covariance=full"])
        #expect(r.status == 0, "\(r.standardError)")
        let o = try json(r.standardOutput)
        let models = try #require(o["models"] as? [[String: Any]])
        #expect(Set(models.compactMap { $0["family"] as? String }) == ["rbm", "vae"])
        #expect((o["n"] as? [String: Any])?["test"] as? Int == 1_000)
        // A full covariance over 784 pixels, many of them constant: skipped, with the reason.
        let skipped = try #require(o["skipped"] as? [[String: Any]])
        #expect(skipped.count == 1 && skipped[0]["spec"] as? String == "gmm:components=2;covariance=full")
        print("compare on digits: \(models.map { "\($0["spec"]!): \($0["testMeanLogLikelihood"]!)" }); skipped: \(skipped)")
    }
}
