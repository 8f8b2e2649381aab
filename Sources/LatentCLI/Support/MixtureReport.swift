import Latent

/// Human-readable descriptions of a Gaussian mixture.
enum MixtureReport {
    static func text(_ m: GaussianMixture, columns: [String], summary: JSONObject) -> String {
        var out = ""
        if case .number(let mean)? = summary["meanLogLikelihood"], case .number(let total)? = summary["logLikelihood"],
           case .number(let bic)? = summary["bic"] {
            out += "Gaussian mixture, \(m.componentCount) component(s), \(m.covarianceType.rawValue) covariance\n"
            out += "log-likelihood \(Console.number(total)) (mean \(Console.number(mean)) per row), BIC \(Console.number(bic))\n"
        }
        out += table(m, columns: columns)
        return out
    }

    /// A table of weights, means and standard deviations per component.
    static func table(_ m: GaussianMixture, columns: [String]) -> String {
        var out = pad("component", 10) + pad("weight", 9)
        for c in columns { out += pad("mean " + c, 16) + pad("sd " + c, 14) }
        out += "\n"
        let order = (0..<m.componentCount).sorted { m.weights[$0] > m.weights[$1] }
        for k in order {
            let cov = m.covariances.matrix(component: k, dimension: m.dimension)
            out += pad("\(k)", 10) + pad(Console.number(m.weights[k], 4), 9)
            for j in 0..<m.dimension {
                out += pad(Console.number(m.means[k, j], 5), 16) + pad(Console.number(cov[j, j].squareRoot(), 4), 14)
            }
            out += "\n"
        }
        return out
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }
}
