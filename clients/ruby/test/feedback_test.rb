# frozen_string_literal: true

require_relative "test_helper"

class FeedbackTest < LiveTest
  def test_a_rating_of_a_real_answer_is_counted_once_and_can_change
    answer = recommend

    first = client.feedback(answer.request_id, :up)
    assert_instance_of CareerNavigator::FeedbackResult, first
    assert_equal answer.request_id, first.request_id
    assert_equal "up", first.rating
    assert_equal :counted, first.outcome
    assert_equal answer.meta.experiment_id, first.experiment_id
    assert_equal answer.meta.variant_id, first.variant_id

    assert_equal :unchanged, client.feedback(answer.request_id, "up").outcome
    assert_equal :changed, client.feedback(answer.request_id, :down, comment: "Too generic").outcome
  end

  def test_a_bad_rating_is_a_validation_error
    answer = recommend
    error = assert_raises(CareerNavigator::ValidationError) { client.feedback(answer.request_id, :sideways) }

    assert_equal 400, error.status
    assert_equal "/problems/validation", error.type
    refute_empty error.errors_for(:rating)
    assert_match(/up/, error.errors["/rating"].first)
  end

  def test_an_id_the_gateway_did_not_issue_is_not_found
    answer = recommend
    forged = answer.request_id.sub(/\.[0-9a-f]+\z/) { |signature| ".#{signature[1..].reverse}" }

    [forged, "req_#{SecureRandom.hex(16)}"].each do |id|
      error = assert_raises(CareerNavigator::NotFound) { client.feedback(id, :up) }
      assert_equal 404, error.status
      assert_equal "/problems/not-found", error.type
    end
  end
end
