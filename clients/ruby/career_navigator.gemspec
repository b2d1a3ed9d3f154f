# frozen_string_literal: true

require_relative "lib/career_navigator/version"

Gem::Specification.new do |spec|
  spec.name = "career_navigator"
  spec.version = CareerNavigator::VERSION
  spec.summary = "Client for the Career Path Navigator LLM gateway"
  spec.description = "Typed results and errors, Retry-After-bounded retries and request ids for the " \
                     "Career Path Navigator gateway's /v1 and /admin APIs."
  spec.authors = ["Career Path Navigator"]
  spec.license = "Nonstandard"
  spec.files = Dir["lib/**/*.rb"] + ["README.md"]
  spec.require_paths = ["lib"]
  spec.required_ruby_version = ">= 3.0"

  # The suite runs on Debian bookworm's ruby-faraday (1.1.0); the client uses only Faraday API that 2.x kept.
  spec.add_dependency "faraday", ">= 1.0", "< 3"
  spec.add_development_dependency "minitest", "~> 5.0"
end
