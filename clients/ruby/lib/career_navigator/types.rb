# frozen_string_literal: true

require "bigdecimal"
require "date"
require "time"

module CareerNavigator
  # Conversions from the gateway's JSON (camelCase) to the typed results below. Money is BigDecimal
  # (the gateway counts in decimal), times are Time, enum labels ("halfOpen", "forceOpen") are snake_case
  # Symbols (:half_open, :force_open).
  module Convert
    module_function

    def money(value)
      return nil if value.nil?

      BigDecimal(value.to_s)
    end

    def time(value)
      value.nil? ? nil : Time.iso8601(value)
    end

    def float(value)
      value&.to_f
    end

    def label(value)
      return nil if value.nil?

      value.to_s.gsub(/([a-z\d])([A-Z])/, '\1_\2').downcase.to_sym
    end

    # :force_open, "force_open" or "forceOpen" -> "forceOpen".
    def camel(value)
      parts = value.to_s.split("_")
      parts.first + parts.drop(1).map(&:capitalize).join
    end
  end

  # A recommendation's salary range (min and max as BigDecimal, currency such as "USD").
  SalaryRange = Struct.new(:min, :max, :currency, keyword_init: true) do
    def self.from_json(json)
      return nil if json.nil?

      new(min: Convert.money(json["min"]), max: Convert.money(json["max"]), currency: json["currency"])
    end
  end

  # One career path.
  Recommendation = Struct.new(:title, :fit_score, :salary_range, :skill_gaps, :next_steps, keyword_init: true) do
    def self.from_json(json)
      new(title: json["title"], fit_score: Convert.float(json["fitScore"]),
          salary_range: SalaryRange.from_json(json["salaryRange"]),
          skill_gaps: Array(json["skillGaps"]), next_steps: Array(json["nextSteps"]))
    end
  end

  # One provider attempt of a request (meta.attempts); +outcome+ is a Symbol such as :success,
  # :server_error, :timeout, :rate_limited or :circuit_open.
  Attempt = Struct.new(:attempt, :provider, :model, :outcome, :latency_ms, :cost_usd, :max_output_tokens, :downgraded,
                       keyword_init: true) do
    def self.from_json(json)
      new(attempt: json["attempt"], provider: json["provider"], model: json["model"], outcome: Convert.label(json["outcome"]),
          latency_ms: Convert.float(json["latencyMs"]), cost_usd: Convert.money(json["costUsd"]),
          max_output_tokens: json["maxOutputTokens"], downgraded: json["downgraded"] == true)
    end

    def downgraded?
      downgraded
    end
  end

  # How the gateway answered: the versions and experiment variant used, the provider and model, whether
  # the answer came from the cache (stale: served because no provider answered), whether it failed over
  # or truncated the input, tokens, cost (BigDecimal, US dollars), the gateway's latency and every attempt.
  Meta = Struct.new(:feature_version, :system_prompt_version, :user_prompt_version, :experiment_id, :variant_id,
                    :provider, :model, :cached, :stale, :failover, :truncated, :input_tokens, :output_tokens,
                    :cost_usd, :latency_ms, :attempts, keyword_init: true) do
    def self.from_json(json)
      new(feature_version: json["featureVersion"], system_prompt_version: json["systemPromptVersion"],
          user_prompt_version: json["userPromptVersion"], experiment_id: json["experimentId"], variant_id: json["variantId"],
          provider: json["provider"], model: json["model"], cached: json["cached"] == true, stale: json["stale"] == true,
          failover: json["failover"] == true, truncated: json["truncated"] == true,
          input_tokens: json["inputTokens"], output_tokens: json["outputTokens"], cost_usd: Convert.money(json["costUsd"]),
          latency_ms: json["latencyMs"], attempts: Array(json["attempts"]).map { |a| Attempt.from_json(a) })
    end

    def cached?
      cached
    end

    def stale?
      stale
    end

    def failover?
      failover
    end

    def truncated?
      truncated
    end
  end

  # The answer of #recommend. +request_id+ is the gateway's signed id (what #feedback takes);
  # +client_request_id+ the X-Request-Id this client sent.
  RecommendationResult = Struct.new(:request_id, :recommendations, :meta, :client_request_id, keyword_init: true) do
    def self.from_json(json, client_request_id:)
      new(request_id: json["requestId"], recommendations: Array(json["recommendations"]).map { |r| Recommendation.from_json(r) },
          meta: Meta.from_json(json["meta"] || {}), client_request_id: client_request_id)
    end
  end

  # The answer of #feedback: +outcome+ is :counted (a first rating), :changed or :unchanged (a repeat).
  FeedbackResult = Struct.new(:request_id, :rating, :outcome, :experiment_id, :variant_id, keyword_init: true) do
    def self.from_json(json)
      new(request_id: json["requestId"], rating: json["rating"], outcome: Convert.label(json["outcome"]),
          experiment_id: json["experimentId"], variant_id: json["variantId"])
    end
  end

  # The answer of a feature change such as #rollback: +outcome+ is :applied or :unchanged.
  ChangeResult = Struct.new(:outcome, :message, :active_version, keyword_init: true) do
    def self.from_json(json)
      new(outcome: Convert.label(json["outcome"]), message: json["message"], active_version: json["activeVersion"])
    end
  end

  # A feature's versions and labels (#feature). +versions+ and +audit+ are the gateway's JSON objects.
  FeatureOverview = Struct.new(:feature, :active_version, :labels, :versions, :prompts, :activation_history, :audit,
                               :revision, keyword_init: true) do
    def self.from_json(json)
      new(feature: json["feature"], active_version: json["activeVersion"], labels: json["labels"] || {},
          versions: Array(json["versions"]), prompts: Array(json["prompts"]),
          activation_history: Array(json["activationHistory"]), audit: Array(json["audit"]), revision: json["revision"])
    end
  end

  # One replica's budget lease.
  Lease = Struct.new(:lease_id, :replica_id, :granted_usd, :charged_usd, :in_flight_usd, :outstanding_usd, :expires_at,
                     keyword_init: true) do
    def self.from_json(json)
      new(lease_id: json["leaseId"], replica_id: json["replicaId"], granted_usd: Convert.money(json["grantedUsd"]),
          charged_usd: Convert.money(json["chargedUsd"]), in_flight_usd: Convert.money(json["inFlightUsd"]),
          outstanding_usd: Convert.money(json["outstandingUsd"]), expires_at: Convert.time(json["expiresAt"]))
    end
  end

  # A month's budget (#budget, #set_budget_limit); amounts are BigDecimal US dollars, +daily_cap_usd+ is
  # nil when pacing is off.
  Budget = Struct.new(:month, :limit_usd, :spent_usd, :reserved_usd, :remaining_usd, :forecast_usd, :today_spent_usd,
                      :daily_cap_usd, :peak_committed_usd, :in_flight_usd, :unreconciled_usd, :leases,
                      keyword_init: true) do
    def self.from_json(json)
      new(month: json["month"], limit_usd: Convert.money(json["limitUsd"]), spent_usd: Convert.money(json["spentUsd"]),
          reserved_usd: Convert.money(json["reservedUsd"]), remaining_usd: Convert.money(json["remainingUsd"]),
          forecast_usd: Convert.money(json["forecastUsd"]), today_spent_usd: Convert.money(json["todaySpentUsd"]),
          daily_cap_usd: Convert.money(json["dailyCapUsd"]), peak_committed_usd: Convert.money(json["peakCommittedUsd"]),
          in_flight_usd: Convert.money(json["inFlightUsd"]), unreconciled_usd: Convert.money(json["unreconciledUsd"]),
          leases: Array(json["leases"]).map { |l| Lease.from_json(l) })
    end

    # The pacing factor behind daily_cap_usd (cap = limit x factor / days in the month), which the
    # gateway does not return itself: 0 when pacing is off, nil when the limit is 0 (it cannot be told).
    # Rounded to 6 places.
    def daily_pacing_factor
      return BigDecimal("0") if daily_cap_usd.nil?
      return nil if limit_usd.nil? || limit_usd.zero?

      year, mon = month.split("-").map(&:to_i)
      days = Date.new(year, mon, -1).day
      (daily_cap_usd * days / limit_usd).round(6)
    end
  end

  # A budget audit entry: who changed the limit ("set-limit") or pacing ("set-pacing"), when, from and to.
  BudgetAuditEntry = Struct.new(:at, :actor, :action, :from, :to, keyword_init: true) do
    def self.from_json(json)
      new(at: Convert.time(json["at"]), actor: json["actor"], action: json["action"], from: Convert.money(json["from"]),
          to: Convert.money(json["to"]))
    end
  end

  # A provider's cluster-wide circuit (#providers, #set_circuit). +state+ and +replica_state+ are
  # :closed, :half_open or :open; +mode+ is :auto, :force_open or :force_closed.
  ProviderStatus = Struct.new(:provider, :state, :mode, :next_probe_at, :calls, :failures, :window_calls,
                              :window_failure_rate, :probes_in_flight, :consecutive_openings, :last_outcome,
                              :last_call_at, :last_trip_reason, :replica_state, keyword_init: true) do
    def self.from_json(json)
      new(provider: json["provider"], state: Convert.label(json["state"]), mode: Convert.label(json["mode"]),
          next_probe_at: Convert.time(json["nextProbeAt"]), calls: json["calls"], failures: json["failures"],
          window_calls: json["windowCalls"], window_failure_rate: Convert.float(json["windowFailureRate"]),
          probes_in_flight: json["probesInFlight"], consecutive_openings: json["consecutiveOpenings"],
          last_outcome: Convert.label(json["lastOutcome"]), last_call_at: Convert.time(json["lastCallAt"]),
          last_trip_reason: json["lastTripReason"], replica_state: Convert.label(json["replicaState"]))
    end
  end
end
