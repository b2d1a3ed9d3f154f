# frozen_string_literal: true

require_relative "test_helper"

class AdminTest < LiveTest
  def test_the_budget_is_typed
    budget = admin.budget

    assert_instance_of CareerNavigator::Budget, budget
    assert_equal Time.now.utc.strftime("%Y-%m"), budget.month
    %i[limit_usd spent_usd reserved_usd remaining_usd forecast_usd today_spent_usd peak_committed_usd in_flight_usd
       unreconciled_usd].each { |field| assert_kind_of BigDecimal, budget[field], field }
    budget.leases.each do |lease|
      assert_instance_of CareerNavigator::Lease, lease
      assert_kind_of Time, lease.expires_at
    end
    assert_equal budget.month, admin.budget(Time.now).month
    assert_equal "2020-01", admin.budget("2020-01").month
  end

  def test_a_limit_change_is_applied_audited_and_restored
    month = Time.now.utc.strftime("%Y-%m")
    before = admin.budget(month)
    raised = before.limit_usd + BigDecimal("0.25")
    begin
      changed = admin.set_budget_limit(raised, month: month)
      assert_instance_of CareerNavigator::Budget, changed
      assert_equal raised, changed.limit_usd
      assert_equal raised, admin.budget(month).limit_usd
    ensure
      admin.set_budget_limit(before.limit_usd, month: month)
    end

    assert_equal before.limit_usd, admin.budget(month).limit_usd
    audit = admin.budget_audit(month)
    assert(audit.any? { |entry| entry.action == "set-limit" && entry.to == raised && entry.from == before.limit_usd })
    assert_kind_of Time, audit.last.at
  end

  def test_a_bad_month_or_limit_is_a_validation_error
    assert_raises(CareerNavigator::ValidationError) { admin.budget("2026-13") }
    error = assert_raises(CareerNavigator::ValidationError) { admin.set_budget_limit(-1, month: "2020-01") }
    assert_match(/limitUsd/, error.detail)
  end

  def test_providers_and_circuit_modes
    providers = admin.providers
    assert_equal LiveGateway::PROVIDERS.sort, providers.map(&:provider).sort
    providers.each do |provider|
      assert_instance_of CareerNavigator::ProviderStatus, provider
      assert_includes %i[closed half_open open], provider.state
      assert_equal :auto, provider.mode
    end

    begin
      forced = admin.set_circuit("openai", :force_open)
      assert_equal :force_open, forced.mode
      assert_equal :open, forced.state
      assert_equal :force_closed, admin.set_circuit("openai", "forceClosed").mode
    ensure
      back = admin.set_circuit("openai", :auto)
    end
    assert_equal :auto, back.mode
    assert_equal :closed, back.state
    assert_raises(ArgumentError) { admin.set_circuit("openai", :sometimes) }
  end

  def test_a_rollback_to_another_version_and_back
    overview = admin.feature
    assert_instance_of CareerNavigator::FeatureOverview, overview
    active = overview.active_version
    other = overview.versions.map { |version| version["version"] }.find { |version| version != active }
    skip "the feature has a single published version" if other.nil?

    begin
      moved = admin.rollback(reason: "ruby client test", to_version: other)
      assert_instance_of CareerNavigator::ChangeResult, moved
      assert_equal :applied, moved.outcome
      assert_equal other, moved.active_version
      assert_equal other, admin.feature.active_version
      # The replica that took the change serves it at once, the others within a second.
      served = nil
      deadline = monotonic + 3
      served = recommend.meta.feature_version until served == other || monotonic > deadline
      assert_equal other, served
    ensure
      back = admin.rollback(reason: "ruby client test: restore", to_version: active)
    end
    assert_equal active, back.active_version
    assert_equal :unchanged, admin.rollback(reason: "ruby client test", to_version: active).outcome
  end
end
