# frozen_string_literal: true

require_relative "test_helper"

# What the live gateway cannot be made to answer on demand (a 500, a cluster outage, an HTTP-date
# Retry-After, a proxy's HTML page), against Faraday's test adapter; and configuration.
class OfflineTest < Minitest::Test
  URL = "http://gateway.test"

  def setup
    @stubs = Faraday::Adapter::Test::Stubs.new
    @sleeps = []
  end

  def stubbed(**options)
    client = CareerNavigator::Client.new(url: URL, client_key: "client-key", admin_key: "admin-key",
                                         logger: Logger.new(File::NULL), adapter: [:test, @stubs], **options)
    sleeps = @sleeps
    client.define_singleton_method(:sleep) { |seconds| sleeps << seconds }
    client
  end

  def problem(status, type, headers = {}, extra = {})
    body = { type: type, title: "Title #{status}", status: status, detail: "Detail #{status}" }.merge(extra)
    [status, { "Content-Type" => "application/problem+json" }.merge(headers), JSON.generate(body)]
  end

  def answer
    [200, { "Content-Type" => "application/json", "X-Request-Id" => "req_ok" },
     JSON.generate(requestId: "req_ok", recommendations: [], meta: { provider: "openai", costUsd: 0.1, attempts: [] })]
  end

  def respond_in_turn(*responses)
    calls = []
    @stubs.post("/v1/career-paths") do |env|
      calls << env.request_headers["X-Request-Id"]
      responses.size > 1 ? responses.shift : responses.first
    end
    calls
  end

  def recommend(client)
    client.recommend(user_id: "u", user_profile: "p", job_market_data: "m")
  end

  EXPECTED = {
    "/problems/validation" => [400, CareerNavigator::ValidationError],
    "/problems/body-too-large" => [413, CareerNavigator::BodyTooLarge],
    "/problems/budget-exhausted" => [429, CareerNavigator::BudgetExhausted],
    "/problems/daily-budget-exhausted" => [429, CareerNavigator::DailyBudgetExhausted],
    "/problems/user-quota-exceeded" => [429, CareerNavigator::QuotaExceeded],
    "/problems/rate-limited" => [429, CareerNavigator::RateLimited],
    "/problems/no-provider" => [503, CareerNavigator::NoProvider],
    "/problems/deadline-exceeded" => [504, CareerNavigator::DeadlineExceeded],
    "/problems/conflict" => [409, CareerNavigator::Conflict],
    "/problems/feedback-window-closed" => [409, CareerNavigator::FeedbackWindowClosed],
    "/problems/not-found" => [404, CareerNavigator::NotFound],
    "/problems/internal" => [500, CareerNavigator::InternalError],
    "/problems/cluster-unavailable" => [503, CareerNavigator::ClusterUnavailable]
  }.freeze

  def test_every_problem_type_has_its_class_and_carries_the_problem
    EXPECTED.each do |type, (status, klass)|
      @stubs = Faraday::Adapter::Test::Stubs.new
      respond_in_turn(problem(status, type, { "Retry-After" => "7", "X-Request-Id" => "req_#{status}" }))
      error = assert_raises(klass, type) { recommend(stubbed) }

      assert_instance_of klass, error, type
      assert_equal status, error.status
      assert_equal type, error.type
      assert_equal "Title #{status}", error.title
      assert_equal "Detail #{status}", error.detail
      assert_equal "req_#{status}", error.request_id
      assert_match(/\A\h{8}-/, error.client_request_id)
      assert_equal 7, error.retry_after
      assert_kind_of(status < 500 ? CareerNavigator::ClientError : CareerNavigator::ServerError, error)
    end
  end

  def test_without_a_known_type_the_status_decides
    {
      [400, "https://tools.ietf.org/html/rfc9110#section-15.5.1"] => CareerNavigator::ValidationError,
      [401, "https://tools.ietf.org/html/rfc9110#section-15.5.2"] => CareerNavigator::Unauthorized,
      [403, "https://tools.ietf.org/html/rfc9110#section-15.5.4"] => CareerNavigator::Forbidden,
      [404, nil] => CareerNavigator::NotFound,
      [418, nil] => CareerNavigator::ClientError,
      [429, nil] => CareerNavigator::TooManyRequests,
      [502, nil] => CareerNavigator::ServerError,
      [503, nil] => CareerNavigator::ServiceUnavailable
    }.each do |(status, type), klass|
      @stubs = Faraday::Adapter::Test::Stubs.new
      respond_in_turn(problem(status, type))
      assert_instance_of klass, assert_raises(CareerNavigator::Error) { recommend(stubbed) }, status
    end
  end

  def test_a_type_given_as_an_absolute_url_is_recognised
    respond_in_turn(problem(503, "https://navigator.example/problems/no-provider"))
    assert_instance_of CareerNavigator::NoProvider, assert_raises(CareerNavigator::Error) { recommend(stubbed) }
  end

  def test_a_body_that_is_not_a_problem_is_kept_as_detail
    respond_in_turn([502, { "Content-Type" => "text/html" }, "<html><body>Bad gateway</body></html>"])
    error = assert_raises(CareerNavigator::ServerError) { recommend(stubbed) }

    assert_equal 502, error.status
    assert_nil error.type
    assert_match(/Bad gateway/, error.detail)
  end

  def test_a_422_names_fields_by_json_pointer
    @stubs.post("/admin/features/career_path_navigator/rollback") do
      problem(422, "/problems/validation", {}, errors: [{ pointer: "/versions/0/model", message: "Unknown model." },
                                                        { pointer: "/versions/0/model", message: "No price." },
                                                        { pointer: "/text", message: "Too long." }])
    end
    error = assert_raises(CareerNavigator::ValidationError) { stubbed.rollback(reason: "r") }

    assert_equal({ "/versions/0/model" => ["Unknown model.", "No price."], "/text" => ["Too long."] }, error.errors)
    assert_equal ["Too long."], error.errors_for("text")
  end

  def test_retry_after_as_an_http_date
    now = Time.utc(2026, 11, 30, 12, 0, 0)
    assert_equal 90, CareerNavigator::Errors.retry_after((now + 90).httpdate, now: now)
    assert_equal 0, CareerNavigator::Errors.retry_after((now - 90).httpdate, now: now)
    assert_equal 5, CareerNavigator::Errors.retry_after(" 5 ")
    assert_nil CareerNavigator::Errors.retry_after("soon")
    assert_nil CareerNavigator::Errors.retry_after(nil)
  end

  def test_a_retry_waits_retry_after_and_keeps_the_request_id
    calls = respond_in_turn(problem(503, "/problems/cluster-unavailable", { "Retry-After" => "2" }),
                            problem(429, "/problems/rate-limited", { "Retry-After" => "1" }), answer)
    result = recommend(stubbed(max_retry_time: 5))

    assert_equal "req_ok", result.request_id
    assert_equal [2, 1], @sleeps
    assert_equal 3, calls.size
    assert_equal 1, calls.uniq.size
  end

  def test_no_retry_beyond_max_retry_time_or_without_retry_after
    respond_in_turn(problem(503, "/problems/no-provider", { "Retry-After" => "6" }), answer)
    assert_raises(CareerNavigator::NoProvider) { recommend(stubbed(max_retry_time: 5)) }

    @stubs = Faraday::Adapter::Test::Stubs.new
    respond_in_turn(problem(503, "/problems/no-provider"), answer)
    assert_raises(CareerNavigator::NoProvider) { recommend(stubbed(max_retry_time: 60)) }

    @stubs = Faraday::Adapter::Test::Stubs.new
    respond_in_turn(problem(500, "/problems/internal", { "Retry-After" => "1" }), answer)
    assert_raises(CareerNavigator::InternalError) { recommend(stubbed(max_retry_time: 60)) }

    assert_empty @sleeps
  end

  def test_money_is_decimal_and_json_numbers_stay_numbers
    seen = nil
    @stubs.put("/admin/budget/2026-11/limit") do |env|
      seen = env.body
      [200, { "Content-Type" => "application/json" }, JSON.generate(month: "2026-11", limitUsd: 12.35, dailyCapUsd: 1.235, leases: [])]
    end
    budget = stubbed.set_budget_limit(BigDecimal("12.35"), month: "2026-11", daily_pacing_factor: 3)

    assert_equal '{"limitUsd":12.35,"dailyPacingFactor":3}', seen
    assert_equal BigDecimal("12.35"), budget.limit_usd
    assert_equal BigDecimal("3"), budget.daily_pacing_factor
  end

  def test_configuration_comes_from_the_environment_unless_given
    saved = ENV.to_h.slice("NAVIGATOR_URL", "NAVIGATOR_CLIENT_KEY", "NAVIGATOR_ADMIN_KEY")
    ENV["NAVIGATOR_URL"] = "http://from-env.test"
    ENV.delete("NAVIGATOR_CLIENT_KEY")
    ENV.delete("NAVIGATOR_ADMIN_KEY")
    client = CareerNavigator::Client.new(logger: Logger.new(File::NULL))

    assert_equal "http://from-env.test", client.url
    assert_equal "http://given.test", CareerNavigator::Client.new(url: "http://given.test").url
    assert_equal 1.0, client.open_timeout
    assert_operator client.read_timeout, :>, CareerNavigator::Client::GATEWAY_DEADLINE
    assert_equal 0, client.max_retry_time
    assert_raises(CareerNavigator::ConfigurationError) { client.recommend(user_id: "u", user_profile: "p", job_market_data: "m") }
    assert_raises(CareerNavigator::ConfigurationError) { client.budget }
    assert_raises(ArgumentError) { CareerNavigator::Client.new(max_retry_time: -1) }
    assert_raises(ArgumentError) { CareerNavigator::Client.new(cache: :sometimes) }
  ensure
    %w[NAVIGATOR_URL NAVIGATOR_CLIENT_KEY NAVIGATOR_ADMIN_KEY].each { |name| ENV[name] = saved[name] }
  end

  def test_the_process_wide_client
    previous = CareerNavigator.client
    CareerNavigator.configure(url: "http://configured.test", client_key: "k", logger: Logger.new(File::NULL))
    assert_equal "http://configured.test", CareerNavigator.client.url
  ensure
    CareerNavigator.client = previous
  end
end
