# frozen_string_literal: true

require_relative "test_helper"

# Each typed error, produced on demand by the live gateway, with Retry-After read from its real header.
class ErrorsTest < LiveTest
  def test_a_bad_body_is_a_validation_error_with_field_errors
    error = assert_raises(CareerNavigator::ValidationError) do
      client.recommend(user_id: fresh_user, user_profile: "  ", job_market_data: MARKET, provider: "mistral")
    end

    assert_equal 400, error.status
    assert_equal "/problems/validation", error.type
    assert_equal ["Required."], error.errors["/userProfile"]
    assert_equal ["Required."], error.errors_for(:userProfile)
    assert_match(/openai/, error.errors_for("provider").first)
    assert_empty error.errors_for("jobMarketData")
    assert_match(/\Areq_/, error.request_id)
    refute error.retryable?
    assert_kind_of CareerNavigator::ClientError, error
  end

  def test_a_body_over_64_kib_is_body_too_large
    error = assert_raises(CareerNavigator::BodyTooLarge) do
      client.recommend(user_id: fresh_user, user_profile: "x" * 70_000, job_market_data: MARKET)
    end

    assert_equal 413, error.status
    assert_equal "/problems/body-too-large", error.type
  end

  def test_a_wrong_key_is_unauthorized
    error = assert_raises(CareerNavigator::Unauthorized) { recommend(client(client_key: "not-a-key-#{SecureRandom.hex(8)}")) }
    assert_equal 401, error.status
    assert_equal "Unauthorized", error.title

    assert_raises(CareerNavigator::Unauthorized) { client(admin_key: "not-a-key-#{SecureRandom.hex(8)}").providers }
  end

  def test_a_key_of_the_other_kind_is_forbidden
    error = assert_raises(CareerNavigator::Forbidden) { client(admin_key: ENV.fetch("NAVIGATOR_CLIENT_KEY")).budget }
    assert_equal 403, error.status

    assert_raises(CareerNavigator::Forbidden) { recommend(client(client_key: ENV.fetch("NAVIGATOR_ADMIN_KEY"))) }
  end

  def test_an_unknown_version_or_provider_is_not_found
    error = assert_raises(CareerNavigator::NotFound) { admin.rollback(reason: "ruby client test", to_version: "0.0.0-none") }
    assert_equal 404, error.status
    assert_equal "/problems/not-found", error.type
    assert_match(/0\.0\.0-none/, error.detail)

    assert_raises(CareerNavigator::NotFound) { admin.set_circuit("mistral", :auto) }
  end

  def test_a_rollback_with_no_previous_version_is_a_conflict
    # A feature that was never published has no activation history: nothing is changed.
    error = assert_raises(CareerNavigator::Conflict) do
      admin.rollback(reason: "ruby client test", feature: "ruby-client-test-#{SecureRandom.hex(4)}")
    end

    assert_equal 409, error.status
    assert_equal "/problems/conflict", error.type
    refute_kind_of CareerNavigator::FeedbackWindowClosed, error
  end

  def test_a_month_limit_below_the_spend_is_budget_exhausted_until_next_month
    with_budget(limit_usd: 0) do
      error = assert_raises(CareerNavigator::BudgetExhausted) { recommend }

      assert_instance_of CareerNavigator::BudgetExhausted, error
      assert_equal 429, error.status
      assert_equal "/problems/budget-exhausted", error.type
      assert_kind_of Integer, error.retry_after
      assert_in_delta seconds_until_next_utc_month, error.retry_after, 120
      assert error.retryable?
    end

    recommend # the limit is back: requests are served again
  end

  def test_a_tiny_pacing_factor_is_daily_budget_exhausted_until_tomorrow
    with_budget(daily_pacing_factor: 0.000001) do |before|
      error = assert_raises(CareerNavigator::DailyBudgetExhausted) { recommend }

      assert_kind_of CareerNavigator::BudgetExhausted, error
      assert_equal "/problems/daily-budget-exhausted", error.type
      assert_in_delta seconds_until_next_utc_day, error.retry_after, 120
      refute_nil before.daily_pacing_factor
    end

    recommend
  end

  def test_the_users_daily_quota_is_quota_exceeded_until_tomorrow
    user = fresh_user
    served = 0
    error = nil
    # The test gateway allows a few requests per user per day (run-live.sh: 3); the default is 50.
    60.times do
      recommend(user_id: user)
      served += 1
    rescue CareerNavigator::QuotaExceeded => e
      error = e
      break
    end

    refute_nil error, "#{served} requests of one user and no QuotaExceeded"
    assert_operator served, :>=, 1
    assert_instance_of CareerNavigator::QuotaExceeded, error
    assert_equal 429, error.status
    assert_equal "/problems/user-quota-exceeded", error.type
    assert_in_delta seconds_until_next_utc_day, error.retry_after, 120

    recommend # another user is still served
  end

  def test_a_client_key_over_its_rate_is_rate_limited_for_a_second
    limited = client(client_key: rate_limited_key!)
    error = drain_bucket(limited)

    assert_kind_of CareerNavigator::QuotaExceeded, error
    assert_equal 429, error.status
    assert_equal "/problems/rate-limited", error.type
    assert_includes 1..2, error.retry_after
  end

  def test_every_circuit_open_is_no_provider
    with_circuits(:force_open) do
      error = assert_raises(CareerNavigator::NoProvider) { recommend }

      assert_equal 503, error.status
      assert_equal "/problems/no-provider", error.type
      assert_kind_of CareerNavigator::ServiceUnavailable, error
      assert_includes 1..60, error.retry_after
      assert_match(/circuit_open/, error.detail)
      assert_match(/\Areq_/, error.request_id)
    end

    recommend
  end

  # Both providers answer after 4 s: the first attempt times out at its 2.5 s cap, the second runs into the
  # 3 s deadline. The gateway answers 504 when the deadline's timer fires first and 503 no-provider (two
  # timeouts) when the second attempt's own timer, set to the same instant, does: a race in the gateway.
  # So up to three tries, each on reset circuits, to see the 504.
  def test_providers_slower_than_the_deadline_are_deadline_exceeded
    answers = []
    with_circuits(:auto) do
      with_upstream_fault(latencyMs: 4000) do
        3.times do
          LiveGateway::PROVIDERS.each { |provider| admin.set_circuit(provider, :auto) }
          error = nil
          took = elapsed { error = assert_raises(CareerNavigator::DeadlineExceeded, CareerNavigator::NoProvider) { recommend } }
          assert_in_delta CareerNavigator::Client::GATEWAY_DEADLINE, took, 1.5
          answers << error.class
          next assert_match(/openai=timeout.*anthropic=timeout|anthropic=timeout.*openai=timeout/, error.detail) if error.is_a?(CareerNavigator::NoProvider)

          assert_equal 504, error.status
          assert_equal "/problems/deadline-exceeded", error.type
          assert_nil error.retry_after
          break
        end
        sleep 0.3 # the attempts' outcomes reach the circuits before they are reset
      end
    end
    skip "the gateway answered 503 no-provider (timeouts), not 504, #{answers.size} times in a row" unless answers.include?(CareerNavigator::DeadlineExceeded)
  end

  def test_an_answer_slower_than_the_read_timeout_is_a_timeout_error
    with_upstream_fault(latencyMs: 1500) do
      error = nil
      took = elapsed { error = assert_raises(CareerNavigator::TimeoutError) { recommend(client(read_timeout: 0.5, max_retry_time: 10)) } }

      assert_kind_of CareerNavigator::ConnectionError, error
      assert_nil error.status
      assert_match(/\A\h{8}-/, error.request_id)
      assert_operator took, :<, 1.5, "a timeout is never retried"
      sleep 1.5 # the gateway finishes that request (within its deadline) before the fault is cleared
    end
  end

  def test_nothing_listening_is_a_connection_error
    port = TCPServer.open("127.0.0.1", 0) { |server| server.addr[1] }
    error = assert_raises(CareerNavigator::ConnectionError) { recommend(client(url: "http://127.0.0.1:#{port}", max_retry_time: 10)) }

    refute_kind_of CareerNavigator::TimeoutError, error
    assert_nil error.status
  end
end
