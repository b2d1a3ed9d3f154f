# frozen_string_literal: true

require_relative "test_helper"

# Retries on 429 and 503 wait exactly Retry-After, and only within max_retry_time.
class RetryTest < LiveTest
  def test_a_503_is_retried_after_retry_after_and_succeeds_once_a_provider_is_back
    requests = []
    with = recording_client(requests, max_retry_time: 8)
    result = nil
    took = nil
    with_circuits(:force_open) do
      reopen = Thread.new do
        sleep 1
        LiveGateway::PROVIDERS.each { |provider| admin.set_circuit(provider, :auto) }
      end
      took = elapsed { result = recommend(with) }
      reopen.join
    end

    assert_instance_of CareerNavigator::RecommendationResult, result
    wait = log_text[/503 \/problems\/no-provider .*retrying in (\d+) s/, 1]
    refute_nil wait, "no retry was logged: #{log_text}"
    assert_equal 2, requests.size
    assert_equal requests.first["X-Request-Id"], requests.last["X-Request-Id"], "a retry is the same call"
    assert_operator took, :>=, Integer(wait), "the retry waited less than Retry-After"
    assert_operator took, :<, Integer(wait) + 2.5
  end

  def test_a_503_whose_retry_after_passes_max_retry_time_is_raised_at_once
    requests = []
    with_circuits(:force_open) do
      error = nil
      took = elapsed { error = assert_raises(CareerNavigator::NoProvider) { recommend(recording_client(requests, max_retry_time: 2)) } }

      assert_operator error.retry_after, :>, 2, "this test needs a Retry-After above max_retry_time"
      assert_equal 1, requests.size
      assert_operator took, :<, 1.5
      assert_match(/would pass max_retry_time 2 s/, log_text)
    end
  end

  def test_a_retry_that_fails_again_gives_up_when_the_next_wait_would_pass_max_retry_time
    requests = []
    with_circuits(:force_open) do
      error = nil
      took = elapsed { error = assert_raises(CareerNavigator::NoProvider) { recommend(recording_client(requests, max_retry_time: 7)) } }

      # Retry-After is 5 s: one wait fits in 7 s, a second would not.
      assert_equal 5, error.retry_after
      assert_equal 2, requests.size
      assert_operator took, :>=, 5
      assert_operator took, :<, 7
      assert_equal 1, log_text.scan("retrying in 5 s").size
    end
  end

  def test_a_rate_limited_call_waits_for_its_bucket_and_succeeds
    key = rate_limited_key!
    requests = []
    result = nil
    took = nil
    drained = nil
    # The bucket refills once a second: should it refill between the drain and the call, the call is
    # served at once and shows no retry, so drain and call again.
    3.times do
      drained = drain_bucket(client(client_key: key))
      requests.clear
      took = elapsed { result = recommend(recording_client(requests, client_key: key, max_retry_time: 4)) }
      break if requests.size >= 2
    end

    assert_instance_of CareerNavigator::RecommendationResult, result
    assert_operator requests.size, :>=, 2
    assert_operator took, :>=, drained.retry_after
    assert_match(/429 \/problems\/rate-limited .*retrying in 1 s/, log_text)
  end

  def test_the_default_is_no_retry
    assert_equal 0, CareerNavigator::Client.new.max_retry_time
    with_circuits(:force_open) do
      requests = []
      took = elapsed { assert_raises(CareerNavigator::NoProvider) { recommend(recording_client(requests)) } }

      assert_equal 1, requests.size
      assert_operator took, :<, 1.5
    end
  end

  def test_a_4xx_other_than_429_is_never_retried
    requests = []
    with = recording_client(requests, max_retry_time: 30)
    assert_raises(CareerNavigator::ValidationError) { with.recommend(user_id: fresh_user, user_profile: "", job_market_data: MARKET) }
    assert_raises(CareerNavigator::Unauthorized) { recommend(recording_client(requests, client_key: "wrong-#{SecureRandom.hex(4)}", max_retry_time: 30)) }
    assert_raises(CareerNavigator::NotFound) { with.feedback("req_unknown", :up) }

    assert_equal 3, requests.size
  end

  def test_a_429_until_tomorrow_is_not_waited_for
    with_budget(daily_pacing_factor: 0.000001) do
      requests = []
      took = elapsed { assert_raises(CareerNavigator::DailyBudgetExhausted) { recommend(recording_client(requests, max_retry_time: 30)) } }

      assert_equal 1, requests.size
      assert_operator took, :<, 1.5
    end
  end
end
