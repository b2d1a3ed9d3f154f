# frozen_string_literal: true

require "date"
require "faraday"
require "json"
require "logger"
require "securerandom"
require "uri"

require_relative "errors"
require_relative "types"

module CareerNavigator
  # A client of one gateway. It holds no per-request state, so one instance may be shared by every
  # thread of a process (each request opens its own Net::HTTP connection).
  #
  #   client = CareerNavigator::Client.new                      # NAVIGATOR_URL, NAVIGATOR_CLIENT_KEY, NAVIGATOR_ADMIN_KEY
  #   result = client.recommend(user_id: "u-1", user_profile: "...", job_market_data: "...")
  #   result.recommendations.first.title; result.meta.provider; result.request_id
  #
  # Retries: a 429 or 503 with a Retry-After header is retried after exactly that many seconds, as long
  # as the time since the call started plus the wait stays within +max_retry_time+ (seconds; default 0:
  # never retry). Nothing else is retried: not other 4xx, not 500 or 504, not timeouts or broken
  # connections (the gateway may already have called, and charged, a provider).
  class Client
    # The gateway's end-to-end deadline (request:deadlineMs): it answers within it, or with a 504.
    GATEWAY_DEADLINE = 3.0
    DEFAULT_URL = "http://127.0.0.1:5080"
    # Connecting to the gateway (loopback, a sidecar or an internal load balancer) takes milliseconds.
    DEFAULT_OPEN_TIMEOUT = 1.0
    # The deadline, plus 2 s for the gateway's own work before and after it (queueing, a grain call, the
    # response) and the network; the read timeout applies to each read of the response.
    DEFAULT_READ_TIMEOUT = GATEWAY_DEADLINE + 2.0
    DEFAULT_MAX_RETRY_TIME = 0
    DEFAULT_FEATURE = "career_path_navigator"
    CACHE_DIRECTIVES = { default: nil, no_cache: "no-cache", no_store: "no-store" }.freeze
    CIRCUIT_MODES = %w[auto forceOpen forceClosed].freeze

    attr_reader :url, :open_timeout, :read_timeout, :max_retry_time, :cache, :logger

    # url:            the gateway's base URL (default NAVIGATOR_URL, else http://127.0.0.1:5080)
    # client_key:     the key for /v1 (default NAVIGATOR_CLIENT_KEY)
    # admin_key:      the key for /admin (default NAVIGATOR_ADMIN_KEY); only admin calls need it
    # open_timeout:   seconds to connect (default 1)
    # read_timeout:   seconds to wait for the answer (default 5: the 3 s deadline and a margin)
    # max_retry_time: seconds a call may spend waiting out Retry-After before giving up (default 0)
    # cache:          :default, :no_cache (skip the lookup, refresh the entry) or :no_store (neither read nor write)
    # logger:         a Logger (default: $stderr at WARN); successes are logged at INFO, errors at WARN
    # adapter:        a Faraday adapter (default Faraday.default_adapter), e.g. [:test, stubs]
    # A block receives the Faraday::RackBuilder, to add middleware (instrumentation, say).
    def initialize(url: nil, client_key: nil, admin_key: nil, open_timeout: DEFAULT_OPEN_TIMEOUT,
                   read_timeout: DEFAULT_READ_TIMEOUT, max_retry_time: DEFAULT_MAX_RETRY_TIME, cache: :default,
                   logger: nil, adapter: nil, &configure)
      @url = presence(url) || presence(ENV["NAVIGATOR_URL"]) || DEFAULT_URL
      @client_key = presence(client_key) || presence(ENV["NAVIGATOR_CLIENT_KEY"])
      @admin_key = presence(admin_key) || presence(ENV["NAVIGATOR_ADMIN_KEY"])
      @open_timeout = open_timeout
      @read_timeout = read_timeout
      @max_retry_time = check_retry_time(max_retry_time)
      @cache = check_cache(cache)
      @logger = logger || Logger.new($stderr, level: Logger::WARN, progname: "career_navigator")
      @connection = Faraday.new(
        url: @url,
        headers: { "Accept" => "application/json", "User-Agent" => "career_navigator-ruby/#{VERSION}" },
        request: { open_timeout: open_timeout, read_timeout: read_timeout, write_timeout: read_timeout }
      ) do |builder|
        builder.adapter(*Array(adapter || Faraday.default_adapter))
        configure&.call(builder)
      end
    end

    # Career-path recommendations for a user. Returns a RecommendationResult (recommendations and meta).
    # provider: "openai" or "anthropic" overrides the experiment's choice. request_id: the X-Request-Id to
    # send (default: a new UUID), for example Rails' request.request_id.
    def recommend(user_id:, user_profile:, job_market_data:, provider: nil, request_id: nil, cache: nil,
                  max_retry_time: nil)
      body = { userId: user_id, userProfile: user_profile, jobMarketData: job_market_data }
      body[:provider] = provider.to_s unless provider.nil?
      directive = CACHE_DIRECTIVES.fetch(check_cache(cache || @cache))
      headers = directive ? { "Cache-Control" => directive } : {}
      json, sent = call(:post, "v1/career-paths", key: client_key!, body: body, headers: headers,
                                                  request_id: request_id, max_retry_time: max_retry_time)
      RecommendationResult.from_json(json, client_request_id: sent)
    end

    # A thumbs-up or -down on an answer, by the request_id of its RecommendationResult. rating: :up or
    # :down (anything else is sent as is, and the gateway answers ValidationError). The last rating counts.
    def feedback(request_id, rating, comment: nil, max_retry_time: nil)
      body = { rating: rating.to_s }
      body[:comment] = comment unless comment.nil?
      json, = call(:post, "v1/career-paths/#{escape(request_id)}/feedback", key: client_key!, body: body,
                                                                            max_retry_time: max_retry_time)
      FeedbackResult.from_json(json)
    end

    # --- Admin calls (NAVIGATOR_ADMIN_KEY) ---

    # The month's budget (a Budget); month is "yyyy-MM" or a Date/Time, default the current UTC month.
    def budget(month = nil)
      json, = call(:get, "admin/budget/#{month_of(month)}", key: admin_key!)
      Budget.from_json(json)
    end

    # Sets the month's hard limit in US dollars, and the daily pacing factor when given (0 turns the daily
    # cap off). Audited with the admin key's name. Returns the new Budget.
    def set_budget_limit(limit_usd, month: nil, daily_pacing_factor: nil)
      body = { "limitUsd" => JsonNumber.new(limit_usd) }
      body["dailyPacingFactor"] = JsonNumber.new(daily_pacing_factor) unless daily_pacing_factor.nil?
      json, = call(:put, "admin/budget/#{month_of(month)}/limit", key: admin_key!, body: body)
      Budget.from_json(json)
    end

    # Who changed the month's limit or pacing: an Array of BudgetAuditEntry.
    def budget_audit(month = nil)
      json, = call(:get, "admin/budget/#{month_of(month)}/audit", key: admin_key!)
      Array(json).map { |entry| BudgetAuditEntry.from_json(entry) }
    end

    # Each provider's circuit: an Array of ProviderStatus.
    def providers
      json, = call(:get, "admin/providers", key: admin_key!)
      Array(json).map { |provider| ProviderStatus.from_json(provider) }
    end

    # Sets a provider's circuit mode: :auto (also resets the breaker), :force_open or :force_closed
    # ("forceOpen" and "forceClosed" work too). Returns the provider's ProviderStatus.
    def set_circuit(name, mode)
      label = Convert.camel(mode)
      raise ArgumentError, "mode must be one of :auto, :force_open, :force_closed (got #{mode.inspect})" unless CIRCUIT_MODES.include?(label)

      json, = call(:post, "admin/providers/#{escape(name)}/circuit", key: admin_key!, body: { mode: label })
      ProviderStatus.from_json(json)
    end

    # Rolls the feature back to the previously active version, or to to_version. reason is required (it
    # goes into the audit log). Returns a ChangeResult; raises Conflict when there is no previous version
    # and NotFound for an unknown to_version.
    def rollback(reason:, to_version: nil, feature: DEFAULT_FEATURE)
      body = { reason: reason }
      body[:toVersion] = to_version unless to_version.nil?
      json, = call(:post, "admin/features/#{escape(feature)}/rollback", key: admin_key!, body: body)
      ChangeResult.from_json(json)
    end

    # The feature's active version, versions, labels and audit log (a FeatureOverview).
    def feature(name = DEFAULT_FEATURE)
      json, = call(:get, "admin/features/#{escape(name)}", key: admin_key!)
      FeatureOverview.from_json(json)
    end

    # Makes every cached answer of the feature unreachable on every replica (audited). Returns a ChangeResult.
    def purge_cache(reason:, feature: DEFAULT_FEATURE)
      json, = call(:post, "admin/features/#{escape(feature)}/cache/purge", key: admin_key!, body: { reason: reason })
      ChangeResult.from_json(json)
    end

    def inspect
      "#<#{self.class.name} url=#{@url.inspect} open_timeout=#{@open_timeout} read_timeout=#{@read_timeout} " \
        "max_retry_time=#{@max_retry_time}>"
    end

    private

    # A number written into the JSON body as it is: a BigDecimal would otherwise become a string.
    class JsonNumber
      def initialize(value)
        raise ArgumentError, "not a number: #{value.inspect}" unless value.is_a?(Numeric)

        @text = value.is_a?(BigDecimal) ? value.to_s("F") : value.to_s
      end

      def to_json(*)
        @text
      end
    end
    private_constant :JsonNumber

    # One call, with the Retry-After-bounded retries. Returns [parsed JSON, the X-Request-Id sent].
    def call(method, path, key:, body: nil, headers: {}, request_id: nil, max_retry_time: nil)
      budget = max_retry_time.nil? ? @max_retry_time : check_retry_time(max_retry_time)
      sent = presence(request_id&.to_s) || SecureRandom.uuid
      payload = body.nil? ? nil : JSON.generate(body)
      started = monotonic
      tries = 0
      loop do
        tries += 1
        attempt_started = monotonic
        response = perform(method, path, key, payload, headers, sent)
        ms = ((monotonic - attempt_started) * 1000).round
        gateway_id = response.headers["X-Request-Id"]
        if response.status.between?(200, 299)
          logger.info { "#{method.upcase} /#{path} #{response.status} in #{ms} ms #{ids(sent, gateway_id)}" }
          return [parse_body(response.body), sent]
        end

        error = Errors.from_response(response.status, response.headers, response.body, client_request_id: sent)
        elapsed = monotonic - started
        if error.retryable? && elapsed + error.retry_after <= budget
          logger.warn do
            "#{method.upcase} /#{path} #{response.status} #{error.type} in #{ms} ms #{ids(sent, gateway_id)}; " \
              "retrying in #{error.retry_after} s (Retry-After), try #{tries + 1}, #{format('%.1f', elapsed)} s of #{budget} s used"
          end
          sleep(error.retry_after)
          next
        end

        logger.warn do
          gave_up = error.retryable? && budget.positive? ? "; Retry-After #{error.retry_after} s would pass max_retry_time #{budget} s" : ""
          "#{method.upcase} /#{path} #{response.status} #{error.type} in #{ms} ms #{ids(sent, gateway_id)}#{gave_up}"
        end
        raise error
      end
    end

    def perform(method, path, key, payload, headers, sent)
      @connection.run_request(method, path, payload, nil) do |request|
        request.headers["Authorization"] = "Bearer #{key}"
        request.headers["X-Request-Id"] = sent
        request.headers["Content-Type"] = "application/json" unless payload.nil?
        headers.each { |name, value| request.headers[name] = value }
      end
    rescue Faraday::TimeoutError => e
      raise connection_error(TimeoutError, "timed out", method, path, sent, e)
    rescue Faraday::ConnectionFailed => e
      klass = defined?(Net::OpenTimeout) && e.wrapped_exception.is_a?(Net::OpenTimeout) ? TimeoutError : ConnectionError
      raise connection_error(klass, "could not connect", method, path, sent, e)
    rescue Faraday::Error => e
      raise connection_error(ConnectionError, "failed", method, path, sent, e)
    end

    def connection_error(klass, what, method, path, sent, cause)
      message = "#{method.upcase} #{@url.chomp('/')}/#{path} #{what}: #{cause.message} (request id #{sent})"
      logger.warn { message }
      klass.new(message, detail: cause.message, client_request_id: sent)
    end

    def ids(sent, gateway_id)
      gateway_id ? "x_request_id=#{sent} gateway_request_id=#{gateway_id}" : "x_request_id=#{sent}"
    end

    def parse_body(body)
      return nil if body.nil? || body.empty?

      JSON.parse(body)
    rescue JSON::ParserError => e
      raise Error.new("The gateway answered with a body that is not JSON: #{e.message}", body: body)
    end

    def client_key!
      @client_key || raise(ConfigurationError, "No client key: set NAVIGATOR_CLIENT_KEY or pass client_key:")
    end

    def admin_key!
      @admin_key || raise(ConfigurationError, "No admin key: set NAVIGATOR_ADMIN_KEY or pass admin_key:")
    end

    def month_of(month)
      case month
      when nil then Time.now.utc.strftime("%Y-%m")
      when Time then month.getutc.strftime("%Y-%m")
      when Date then month.strftime("%Y-%m")
      else month.to_s
      end
    end

    def check_retry_time(value)
      raise ArgumentError, "max_retry_time must be a number of seconds >= 0" unless value.is_a?(Numeric) && value >= 0

      value
    end

    def check_cache(value)
      return value if CACHE_DIRECTIVES.key?(value)

      raise ArgumentError, "cache must be one of #{CACHE_DIRECTIVES.keys.map(&:inspect).join(', ')}"
    end

    def escape(segment)
      URI.encode_www_form_component(segment.to_s).gsub("+", "%20")
    end

    def presence(value)
      value.nil? || value.to_s.strip.empty? ? nil : value
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
