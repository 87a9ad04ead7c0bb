//! AWS Lambda prices used for cost estimates.
//!
//! us-east-1, first duration tier, as published on <https://aws.amazon.com/lambda/pricing/>
//! (unchanged since arm64 Lambda launched in September 2021; last compared with the page in
//! 2025 — this machine cannot reach it, so check the page before quoting a cost to anyone).
//! A unit's GB-seconds are priced at the architecture it ran on.

/// USD per GB-second of duration, arm64.
pub const USD_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// USD per GB-second of duration, x86_64 (25 % more).
pub const USD_PER_GB_SECOND_X86_64: f64 = 0.000_016_666_7;

/// USD per GB-second on `arch` (`std::env::consts::ARCH` of the process that ran the unit):
/// x86_64's price for `x86_64`, arm64's for anything else and for records that do not say.
pub fn usd_per_gb_second(arch: Option<&str>) -> f64 {
    match arch {
        Some("x86_64") => USD_PER_GB_SECOND_X86_64,
        _ => USD_PER_GB_SECOND,
    }
}
/// USD per request (0.20 per million).
pub const USD_PER_REQUEST: f64 = 0.000_000_2;
/// Shown beside every estimate.
pub const PRICES_NOTE: &str =
    "AWS Lambda us-east-1, each unit at the price of the architecture it ran on: arm64 $0.0000133334, x86_64 $0.0000166667 per GB-s, $0.20 per 1M requests (price list as of 2025)";

/// S3 Standard request prices, us-east-1 (price list as of 2025; check the page before quoting):
/// PUT, COPY, POST and LIST at $0.005 per 1,000; GET and the rest (HEAD) at $0.0004 per 1,000;
/// DELETE free.
pub const S3_USD_PER_PUT_OR_LIST: f64 = 0.005 / 1000.0;
pub const S3_USD_PER_GET_OR_HEAD: f64 = 0.0004 / 1000.0;
pub const S3_PRICES_NOTE: &str =
    "S3 Standard, us-east-1: $0.005 per 1,000 PUT/LIST, $0.0004 per 1,000 GET/HEAD, DELETE free (price list as of 2025)";

/// Cost of S3 requests by kind.
pub fn s3_requests_usd(get: u64, put: u64, list: u64, head: u64) -> f64 {
    (put + list) as f64 * S3_USD_PER_PUT_OR_LIST + (get + head) as f64 * S3_USD_PER_GET_OR_HEAD
}

/// Billed GB-seconds of one invocation (duration rounded up to the millisecond, as Lambda bills).
pub fn gb_seconds(duration_ms: f64, memory_mb: u32) -> f64 {
    duration_ms.max(0.0).ceil() / 1000.0 * f64::from(memory_mb) / 1024.0
}

/// Estimated cost of `requests` invocations totalling `gb_s` on `arch` (see
/// [`usd_per_gb_second`]).
pub fn cost_usd(gb_s: f64, requests: u64, arch: Option<&str>) -> f64 {
    gb_s * usd_per_gb_second(arch) + requests as f64 * USD_PER_REQUEST
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_second_at_one_gb() {
        assert_eq!(gb_seconds(1000.0, 1024), 1.0);
        assert_eq!(gb_seconds(0.2, 1024), 0.001);
        let c = cost_usd(1.0, 1_000_000, None);
        assert!((c - (0.0000133334 + 0.2)).abs() < 1e-12, "{c}");
        assert_eq!(usd_per_gb_second(Some("x86_64")), 0.0000166667);
        assert_eq!(usd_per_gb_second(Some("aarch64")), USD_PER_GB_SECOND);
        assert_eq!(usd_per_gb_second(None), USD_PER_GB_SECOND);
    }
}
