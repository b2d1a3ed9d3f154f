# frozen_string_literal: true

require_relative "test_helper"

class RecommendTest < LiveTest
  def test_a_recommendation_is_a_typed_result_with_meta
    result = recommend

    assert_instance_of CareerNavigator::RecommendationResult, result
    assert_match(/\Areq_[0-9a-f]{32}/, result.request_id)
    refute_empty result.recommendations
    result.recommendations.each do |recommendation|
      assert_instance_of CareerNavigator::Recommendation, recommendation
      refute_empty recommendation.title
      assert_kind_of Float, recommendation.fit_score
      assert_instance_of CareerNavigator::SalaryRange, recommendation.salary_range
      assert_kind_of BigDecimal, recommendation.salary_range.min
      assert_operator recommendation.salary_range.max, :>=, recommendation.salary_range.min
      assert_equal "USD", recommendation.salary_range.currency
      refute_empty recommendation.next_steps
    end

    meta = result.meta
    assert_instance_of CareerNavigator::Meta, meta
    assert_includes LiveGateway::PROVIDERS, meta.provider
    refute_empty meta.model
    assert_match(/\A\d+\.\d+\.\d+\z/, meta.feature_version)
    assert_match(/\Av\d/, meta.system_prompt_version)
    assert_match(/\Av\d/, meta.user_prompt_version)
    refute meta.cached?, "caching is off for this request's profile: no answer could come from the cache"
    refute meta.stale?
    assert_operator meta.input_tokens, :>, 0
    assert_operator meta.output_tokens, :>, 0
    assert_kind_of BigDecimal, meta.cost_usd
    assert_operator meta.cost_usd, :>, 0
    assert_operator meta.latency_ms, :>=, 0
    refute_empty meta.attempts
    last = meta.attempts.last
    assert_instance_of CareerNavigator::Attempt, last
    assert_equal :success, last.outcome
    assert_equal meta.provider, last.provider
    assert_equal meta.cost_usd, meta.attempts.sum(BigDecimal("0"), &:cost_usd)
  end

  def test_the_provider_override_picks_the_provider
    LiveGateway::PROVIDERS.each do |provider|
      result = recommend(provider: provider)
      assert_equal provider, result.meta.provider
      refute result.meta.failover?
    end
  end

  def test_the_request_id_the_caller_passes_is_sent_and_logged_with_the_gateways
    requests = []
    mine = "rails-#{SecureRandom.hex(8)}"
    result = recommend(recording_client(requests), request_id: mine)

    assert_equal 1, requests.size
    assert_equal mine, requests.first["X-Request-Id"]
    assert_equal mine, result.client_request_id
    line = log_text.lines.grep(/POST \/v1\/career-paths 200/).last
    refute_nil line, "the call was not logged: #{log_text}"
    assert_includes line, "x_request_id=#{mine}"
    assert_includes line, "gateway_request_id=#{result.request_id}"
  end

  def test_every_call_sends_a_new_request_id_unless_given_one
    requests = []
    with = recording_client(requests)
    first = recommend(with)
    second = recommend(with)
    with.budget

    ids = requests.map { |headers| headers["X-Request-Id"] }
    assert_equal 3, ids.size
    ids.each { |id| assert_match(/\A\h{8}-\h{4}-4\h{3}-\h{4}-\h{12}\z/, id) }
    assert_equal ids.uniq, ids
    assert_equal [first.client_request_id, second.client_request_id], ids.first(2)
    refute_equal first.request_id, second.request_id
  end

  def test_cache_directives_are_sent
    requests = []
    with = recording_client(requests, cache: :no_store)
    recommend(with)
    recommend(with, cache: :no_cache)
    recommend(recording_client(requests))

    assert_equal ["no-store", "no-cache", nil], requests.map { |headers| headers["Cache-Control"] }
  end

  def test_successes_are_not_logged_at_the_default_warn_level
    quiet = StringIO.new
    recommend(CareerNavigator::Client.new(logger: Logger.new(quiet, level: Logger::WARN)))

    assert_empty quiet.string
  end
end
