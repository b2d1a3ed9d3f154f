# frozen_string_literal: true

require "json"
require "time"

module CareerNavigator
  # Every error the client raises. Gateway errors are RFC 9457 problem details: +type+ is the problem's
  # stable type (for example "/problems/no-provider"), +title+ and +detail+ its text, +status+ the HTTP
  # status (nil when no response came back). +request_id+ is the gateway's id of the request when it
  # sent one (the X-Request-Id header, or +requestId+ in the body), else the X-Request-Id this client sent;
  # +client_request_id+ is always the one this client sent. +retry_after+ is the Retry-After header in
  # seconds (an Integer), or nil when the response had none.
  class Error < StandardError
    attr_reader :status, :type, :title, :detail, :request_id, :client_request_id, :retry_after, :body, :headers

    def initialize(message = nil, status: nil, type: nil, title: nil, detail: nil, request_id: nil,
                   client_request_id: nil, retry_after: nil, body: nil, headers: nil)
      @status = status
      @type = type
      @title = title
      @detail = detail
      @request_id = request_id || client_request_id
      @client_request_id = client_request_id
      @retry_after = retry_after
      @body = body
      @headers = headers || {}
      super(message || default_message)
    end

    # Whether the gateway asked the caller to come back later (429 or 503 with a Retry-After header).
    def retryable?
      [429, 503].include?(status) && !retry_after.nil?
    end

    private

    def default_message
      text = [title, detail].compact.reject(&:empty?).join(": ")
      text = self.class.name if text.empty?
      facts = []
      facts << "status #{status}" if status
      facts << type if type
      facts << "retry after #{retry_after} s" if retry_after
      facts << "request id #{request_id}" if request_id
      facts.empty? ? text : "#{text} (#{facts.join(', ')})"
    end
  end

  # The client is missing a setting (a URL or a key); no request was sent.
  class ConfigurationError < Error; end

  # No HTTP response: the connection failed or was reset. The request may or may not have reached the
  # gateway, so it is never retried (a recommendation may already have been charged).
  class ConnectionError < Error; end

  # The open or read timeout passed before the gateway answered.
  class TimeoutError < ConnectionError; end

  # A 4xx the classes below do not name.
  class ClientError < Error; end

  # A 5xx the classes below do not name.
  class ServerError < Error; end

  # 400 or 422 /problems/validation. +errors+ maps a JSON pointer ("/userProfile") to its messages: the
  # gateway's 422s name fields by JSON pointer already and its 400s by field name, which becomes "/name".
  class ValidationError < ClientError
    attr_reader :errors

    def initialize(message = nil, errors: {}, **rest)
      @errors = errors
      super(message, **rest)
    end

    # The messages for one field, by JSON pointer ("/userProfile") or by name ("userProfile").
    def errors_for(field)
      field = field.to_s
      errors.fetch(field.start_with?("/") ? field : "/#{field}", [])
    end

    # Normalises the problem's +errors+ member: { "field" => [messages] } or [{ pointer:, message: }].
    def self.errors_from(raw)
      case raw
      when Hash
        raw.each_with_object({}) do |(field, messages), out|
          key = field.to_s.start_with?("/") ? field.to_s : "/#{field}"
          (out[key] ||= []).concat(Array(messages).map(&:to_s))
        end
      when Array
        raw.each_with_object({}) do |entry, out|
          next unless entry.is_a?(Hash)

          key = (entry["pointer"] || entry["field"] || "").to_s
          key = "/#{key}" unless key.start_with?("/")
          (out[key] ||= []) << entry["message"].to_s
        end
      else
        {}
      end
    end
  end

  # 401: the key is missing or wrong.
  class Unauthorized < ClientError; end

  # 403: the key may not call this endpoint (a client key on /admin, an admin key on /v1, or a read-scoped
  # admin key on a change).
  class Forbidden < ClientError; end

  # 404 /problems/not-found: an unknown request id, version or provider.
  class NotFound < ClientError; end

  # 409 /problems/conflict: for example a rollback with no previous version.
  class Conflict < ClientError; end

  # 409 /problems/feedback-window-closed: feedback on an answer older than the feedback window.
  class FeedbackWindowClosed < Conflict; end

  # 413 /problems/body-too-large.
  class BodyTooLarge < ClientError; end

  # Any 429.
  class TooManyRequests < ClientError; end

  # 429 /problems/budget-exhausted: the month's hard limit cannot cover the request. Retry-After is the
  # time until the next month.
  class BudgetExhausted < TooManyRequests; end

  # 429 /problems/daily-budget-exhausted: today's pacing cap is used up. Retry-After is the time until the
  # next UTC day.
  class DailyBudgetExhausted < BudgetExhausted; end

  # 429 /problems/user-quota-exceeded: the user's daily request or token quota is used up. Retry-After is
  # the time until the next UTC day.
  class QuotaExceeded < TooManyRequests; end

  # 429 /problems/rate-limited: the client key is over its request rate on the replica that answered.
  # Retry-After is when its bucket has a token again (usually 1 s).
  class RateLimited < QuotaExceeded; end

  # 500 /problems/internal: the gateway itself failed; +request_id+ finds it in its logs.
  class InternalError < ServerError; end

  # Any 503.
  class ServiceUnavailable < ServerError; end

  # 503 /problems/no-provider: every provider failed or has its circuit open.
  class NoProvider < ServiceUnavailable; end

  # 503 /problems/cluster-unavailable: the gateway's cluster cannot be reached; nothing was charged.
  class ClusterUnavailable < ServiceUnavailable; end

  # 504 /problems/deadline-exceeded: the gateway's end-to-end deadline (3 s) passed.
  class DeadlineExceeded < ServerError; end

  # Builds the exception for a gateway response that is not a success.
  module Errors
    BY_TYPE = {
      "/problems/validation" => ValidationError,
      "/problems/body-too-large" => BodyTooLarge,
      "/problems/budget-exhausted" => BudgetExhausted,
      "/problems/daily-budget-exhausted" => DailyBudgetExhausted,
      "/problems/user-quota-exceeded" => QuotaExceeded,
      "/problems/rate-limited" => RateLimited,
      "/problems/no-provider" => NoProvider,
      "/problems/deadline-exceeded" => DeadlineExceeded,
      "/problems/conflict" => Conflict,
      "/problems/feedback-window-closed" => FeedbackWindowClosed,
      "/problems/not-found" => NotFound,
      "/problems/internal" => InternalError,
      "/problems/cluster-unavailable" => ClusterUnavailable
    }.freeze

    BY_STATUS = {
      400 => ValidationError,
      401 => Unauthorized,
      403 => Forbidden,
      404 => NotFound,
      409 => Conflict,
      413 => BodyTooLarge,
      422 => ValidationError,
      429 => TooManyRequests,
      500 => InternalError,
      503 => ServiceUnavailable,
      504 => DeadlineExceeded
    }.freeze

    module_function

    # status: Integer; headers: a case-insensitive Hash (Faraday's); body: String.
    def from_response(status, headers, body, client_request_id: nil)
      problem = parse_problem(body)
      type = problem["type"].is_a?(String) ? problem["type"] : nil
      klass = class_for(status, type)
      attributes = {
        status: status,
        type: type,
        title: problem["title"],
        detail: problem["detail"] || (problem.empty? ? snippet(body) : nil),
        request_id: header(headers, "X-Request-Id") || problem["requestId"],
        client_request_id: client_request_id,
        retry_after: retry_after(header(headers, "Retry-After")),
        body: problem.empty? ? body : problem,
        headers: headers
      }
      attributes[:errors] = ValidationError.errors_from(problem["errors"]) if klass <= ValidationError
      klass.new(**attributes)
    end

    # The class for a problem type ("/problems/no-provider", or a URL ending in it), else for the status.
    def class_for(status, type)
      path = type && type[%r{/problems/[a-z0-9-]+\z}]
      BY_TYPE.fetch(path) do
        BY_STATUS.fetch(status) do
          if status.between?(400, 499) then ClientError
          elsif status.between?(500, 599) then ServerError
          else Error
          end
        end
      end
    end

    # Retry-After in whole seconds: delay-seconds as sent, an HTTP-date as the seconds until then (at
    # least 0); nil when absent or unreadable.
    def retry_after(value, now: Time.now)
      return nil if value.nil?

      text = value.to_s.strip
      return Integer(text, 10) if text.match?(/\A\d+\z/)

      [(Time.httpdate(text) - now).ceil, 0].max
    rescue ArgumentError
      nil
    end

    def parse_problem(body)
      return {} if body.nil? || body.empty?

      parsed = JSON.parse(body)
      parsed.is_a?(Hash) ? parsed : {}
    rescue JSON::ParserError
      {}
    end

    def header(headers, name)
      return nil if headers.nil?

      headers[name] || headers[name.downcase]
    end

    def snippet(body)
      return nil if body.nil? || body.empty?

      text = body.to_s.strip
      text.length > 200 ? "#{text[0, 200]}..." : text
    end
  end
end
