# frozen_string_literal: true

require_relative "career_navigator/version"
require_relative "career_navigator/errors"
require_relative "career_navigator/types"
require_relative "career_navigator/client"

# Client for the Career Path Navigator LLM gateway. See CareerNavigator::Client, and README.md for
# configuration, errors and retries.
module CareerNavigator
  @client = nil
  @lock = Mutex.new

  class << self
    # The process-wide client: set it in a Rails initializer, or it is built from the environment
    # (NAVIGATOR_URL, NAVIGATOR_CLIENT_KEY, NAVIGATOR_ADMIN_KEY) on first use.
    def client
      @client || @lock.synchronize { @client ||= Client.new }
    end

    attr_writer :client

    # Builds the process-wide client from keyword options (those of Client.new).
    def configure(**options, &block)
      @lock.synchronize { @client = Client.new(**options, &block) }
    end
  end
end
