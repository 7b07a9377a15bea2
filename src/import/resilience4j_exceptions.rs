//! Java exception classes, as resilience4j's `recordExceptions`, `ignoreExceptions` and
//! `retryExceptions` name them, translated to the outcomes resim simulates.
//!
//! resilience4j tests `instanceof`: a class stands for itself and every subclass, so a
//! class maps to every outcome any of its subclasses can stand for (`java.io.IOException`
//! covers `java.net.SocketTimeoutException`, hence `timeout` as well as `error`). resim's
//! outcomes, as a Spring client sees them:
//! - `error`: the callee failed: an HTTP 5xx other than 503, or a connection failure;
//! - `timeout`: the caller stopped waiting: the TimeLimiter's
//!   `java.util.concurrent.TimeoutException`, or a socket read timeout;
//! - `rejected`: a refusal: HTTP 429 or 503 (what a shedding or rate-limited callee
//!   answers; the only 4xx resim answers is 429), a full bulkhead
//!   (`BulkheadFullException`), a rate limiter (`RequestNotPermitted`);
//! - `short_circuited`: an open breaker (`CallNotPermittedException`).
//!
//! The hierarchies are those of the JDK 17 API, Spring Framework 6
//! (`org.springframework.web.client`, `...web.reactive.function.client`), OpenFeign 12
//! and resilience4j 2. A class outside the table is refused: resim cannot know which of
//! its outcomes a class of the application's own covers.

/// resim's failed outcomes, in the order they are written.
pub const ALL: [&str; 4] = ["error", "timeout", "rejected", "short_circuited"];

const E: u8 = 1;
const T: u8 = 2;
const R: u8 = 4;
const S: u8 = 8;

/// Known classes (nested classes with `.`; `$` is read as `.`) and the outcomes they cover.
const CLASSES: &[(&str, u8)] = &[
    ("java.lang.Throwable", E | T | R | S),
    ("java.lang.Exception", E | T | R | S),
    // Unchecked: resilience4j's own refusals and Spring's clients, not the TimeLimiter's
    // checked TimeoutException.
    ("java.lang.RuntimeException", E | R | S),
    ("java.io.IOException", E | T),
    ("java.io.UncheckedIOException", E | T),
    ("java.net.SocketException", E),
    ("java.net.ConnectException", E),
    ("java.net.NoRouteToHostException", E),
    ("java.net.UnknownHostException", E),
    ("java.net.SocketTimeoutException", T),
    ("java.net.http.HttpTimeoutException", T),
    ("java.net.http.HttpConnectTimeoutException", T),
    ("java.util.concurrent.TimeoutException", T),
    ("io.netty.handler.timeout.TimeoutException", T),
    ("io.netty.handler.timeout.ReadTimeoutException", T),
    ("io.github.resilience4j.circuitbreaker.CallNotPermittedException", S),
    ("io.github.resilience4j.bulkhead.BulkheadFullException", R),
    ("io.github.resilience4j.ratelimiter.RequestNotPermitted", R),
    ("org.springframework.web.client.RestClientException", E | T | R),
    ("org.springframework.web.client.ResourceAccessException", E | T),
    ("org.springframework.web.client.RestClientResponseException", E | R),
    ("org.springframework.web.client.HttpStatusCodeException", E | R),
    ("org.springframework.web.client.HttpServerErrorException", E | R),
    ("org.springframework.web.client.HttpServerErrorException.InternalServerError", E),
    ("org.springframework.web.client.HttpServerErrorException.BadGateway", E),
    ("org.springframework.web.client.HttpServerErrorException.GatewayTimeout", E),
    ("org.springframework.web.client.HttpServerErrorException.ServiceUnavailable", R),
    ("org.springframework.web.client.HttpClientErrorException", R),
    ("org.springframework.web.client.HttpClientErrorException.TooManyRequests", R),
    ("org.springframework.web.reactive.function.client.WebClientException", E | T | R),
    ("org.springframework.web.reactive.function.client.WebClientRequestException", E | T),
    ("org.springframework.web.reactive.function.client.WebClientResponseException", E | R),
    ("org.springframework.web.reactive.function.client.WebClientResponseException.InternalServerError", E),
    ("org.springframework.web.reactive.function.client.WebClientResponseException.BadGateway", E),
    ("org.springframework.web.reactive.function.client.WebClientResponseException.GatewayTimeout", E),
    ("org.springframework.web.reactive.function.client.WebClientResponseException.ServiceUnavailable", R),
    ("org.springframework.web.reactive.function.client.WebClientResponseException.TooManyRequests", R),
    ("feign.FeignException", E | T | R),
    ("feign.RetryableException", E | T),
    ("feign.FeignException.FeignServerException", E | R),
    ("feign.FeignException.InternalServerError", E),
    ("feign.FeignException.BadGateway", E),
    ("feign.FeignException.ServiceUnavailable", R),
    ("feign.FeignException.TooManyRequests", R),
];

/// The outcomes `class` covers, in [`ALL`]'s order, or `None` for a class resim does
/// not know.
pub fn outcomes(class: &str) -> Option<Vec<&'static str>> {
    let name = class.trim().replace('$', ".");
    let bits = CLASSES.iter().find(|(c, _)| *c == name)?.1;
    Some(ALL.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, o)| *o).collect())
}

/// The known class nearest to `class`, for a suggestion.
pub fn nearest(class: &str) -> Option<&'static str> {
    crate::scenario::error::suggest(&class.replace('$', "."), CLASSES.iter().map(|(c, _)| *c))
}

/// The simple names of the known classes, for a help line.
pub fn known() -> String {
    CLASSES.iter().map(|(c, _)| c.rsplit('.').next().unwrap_or(c)).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_covers_its_subclasses_outcomes() {
        assert_eq!(outcomes("java.io.IOException").unwrap(), ["error", "timeout"]);
        assert_eq!(outcomes("java.util.concurrent.TimeoutException").unwrap(), ["timeout"]);
        let cnp = "io.github.resilience4j.circuitbreaker.CallNotPermittedException";
        assert_eq!(outcomes(cnp).unwrap(), ["short_circuited"]);
        let nested = "org.springframework.web.client.HttpClientErrorException$TooManyRequests";
        assert_eq!(outcomes(nested).unwrap(), ["rejected"]);
        assert_eq!(outcomes("java.lang.Exception").unwrap(), ALL);
        assert_eq!(outcomes("com.example.BusinessException"), None);
        assert_eq!(nearest("java.io.IOExeption"), Some("java.io.IOException"));
    }
}
