# frozen_string_literal: true

module CareerNavigator
  VERSION = "0.1.0"
end
