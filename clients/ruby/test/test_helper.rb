# frozen_string_literal: true

# The live suite runs against a running gateway, named by the environment:
#   NAVIGATOR_URL, NAVIGATOR_CLIENT_KEY, NAVIGATOR_ADMIN_KEY  the gateway and its keys (required)
#   NAVIGATOR_TEST_RATE_LIMITED_KEY   a client key whose bucket is 1 request/s with a burst of 1
#                                     (clientRateLimits:clients:<name>); its tests skip without it
#   NAVIGATOR_TEST_FAKE_UPSTREAM      tools/FakeUpstream's URL, when the gateway's providers point at it;
#                                     the deadline and timeout tests skip without it
# test/run-live.sh starts such a gateway (with caching and the LLM judge off) and sets all of them.
# Every test leaves the gateway as it found it (budgets and circuits are restored in ensure blocks) and
# uses user ids of its own, so the tests run in any order.

$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))

require "minitest/autorun"
require "career_navigator"
require "json"
require "logger"
require "net/http"
require "securerandom"
require "stringio"

module LiveGateway
  REQUIRED = %w[NAVIGATOR_URL NAVIGATOR_CLIENT_KEY NAVIGATOR_ADMIN_KEY].freeze
  PROVIDERS = %w[openai anthropic].freeze

  def self.check!
    missing = REQUIRED.select { |name| ENV[name].to_s.empty? }
    return if missing.empty?

    abort "The live suite needs #{missing.join(', ')} (a running gateway and its keys); test/run-live.sh starts one."
  end
end

# The base of the live tests: a client with a log the test can read, and helpers that restore what they change.
class LiveTest < Minitest::Test
  PROFILE = "Software Engineer, 5 years, Python/Java, interested in AI/ML"
  MARKET = "AI Engineer: $120k-180k, ML Engineer: $130k-200k, Data Scientist: $110k-170k"

  def setup
    LiveGateway.check!
    @log = StringIO.new
    @logger = Logger.new(@log, level: Logger::INFO)
  end

  def log_text
    @log.string
  end

  def client(**options, &block)
    CareerNavigator::Client.new(logger: @logger, **options, &block)
  end

  def admin
    @admin ||= CareerNavigator::Client.new(logger: @logger)
  end

  # A user id no other test (or run) uses, so per-user quotas never carry over.
  def fresh_user
    "rb-#{name.sub(/\Atest_/, '')[0, 40]}-#{SecureRandom.hex(4)}"
  end

  # Recommendations for a fresh user, with a profile no other request had (nothing comes from a cache).
  def recommend(with = client, **options)
    with.recommend(user_id: options.delete(:user_id) || fresh_user,
                   user_profile: "#{PROFILE} (#{SecureRandom.hex(4)})", job_market_data: MARKET, **options)
  end

  def monotonic
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  def elapsed
    started = monotonic
    yield
    monotonic - started
  end

  # Every provider's circuit in +mode+ for the block; back to auto (which also resets the breaker) after it.
  def with_circuits(mode)
    LiveGateway::PROVIDERS.each { |provider| admin.set_circuit(provider, mode) }
    yield
  ensure
    LiveGateway::PROVIDERS.each { |provider| admin.set_circuit(provider, :auto) }
  end

  # The month's budget changed for the block, then its limit and pacing put back.
  def with_budget(limit_usd: nil, daily_pacing_factor: nil)
    before = admin.budget
    admin.set_budget_limit(limit_usd || before.limit_usd, daily_pacing_factor: daily_pacing_factor)
    yield before
  ensure
    # The pacing factor is put back only when the block changed it (and it can be told: the limit was not 0).
    admin.set_budget_limit(before.limit_usd, daily_pacing_factor: daily_pacing_factor && before.daily_pacing_factor) if before
  end

  # A Faraday middleware that records each request's headers, to see what the client puts on the wire.
  class Recorder < Faraday::Middleware
    def initialize(app, requests)
      super(app)
      @requests = requests
    end

    def call(env)
      @requests << env.request_headers.dup
      @app.call(env)
    end
  end

  def recording_client(requests, **options)
    client(**options) { |builder| builder.use(Recorder, requests) }
  end

  # tools/FakeUpstream's faults, for the gateway's providers.
  def fake_upstream!
    url = ENV["NAVIGATOR_TEST_FAKE_UPSTREAM"].to_s
    skip "NAVIGATOR_TEST_FAKE_UPSTREAM is not set: the gateway's providers are not tools/FakeUpstream" if url.empty?
    url
  end

  def with_upstream_fault(fault)
    url = fake_upstream!
    LiveGateway::PROVIDERS.each do |provider|
      upstream(url, Net::HTTP::Put.new(URI("#{url}/_control/#{provider}"), "Content-Type" => "application/json"), JSON.generate(fault))
    end
    yield
  ensure
    upstream(url, Net::HTTP::Delete.new(URI("#{url}/_control"))) if url && !url.empty?
  end

  def upstream(url, request, body = nil)
    uri = URI(url)
    request.body = body if body
    response = Net::HTTP.start(uri.host, uri.port, open_timeout: 2, read_timeout: 5) { |http| http.request(request) }
    raise "FakeUpstream #{request.method} #{request.path}: #{response.code}" unless response.is_a?(Net::HTTPSuccess)
  end

  def rate_limited_key!
    key = ENV["NAVIGATOR_TEST_RATE_LIMITED_KEY"].to_s
    skip "NAVIGATOR_TEST_RATE_LIMITED_KEY is not set: no client key with a 1 request/s bucket" if key.empty?
    key
  end

  # Uses up the rate-limited key's bucket: requests until one is refused (a burst of 1 takes one or two).
  def drain_bucket(limited)
    5.times do
      recommend(limited, max_retry_time: 0)
    rescue CareerNavigator::RateLimited => e
      return e
    end
    flunk "the rate-limited key was never refused in 5 requests: is its bucket 1 request/s with a burst of 1?"
  end

  def seconds_until_next_utc_day
    now = Time.now.utc
    Time.utc(now.year, now.month, now.day) + 86_400 - now
  end

  def seconds_until_next_utc_month
    now = Time.now.utc
    next_month = now.month == 12 ? Time.utc(now.year + 1, 1, 1) : Time.utc(now.year, now.month + 1, 1)
    next_month - now
  end
end
